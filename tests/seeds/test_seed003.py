"""Seed 003 (one agent renting cognition from several backends): its `budgets:` block as written, the
hard stop degrading to the local model with its notice, a backend past its own limit shifting to the next,
and the one `costs` view of today's, this month's and each backend's spend beside the budgets.

Hand-computed: claude-sonnet-4-5 output costs $15 per million tokens, so 1,150,000 output tokens are
$17.25: past the cloud's $5.00 a day, 86 % of claude's $20.00 a month ($2.75 left).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from costwarden.core.calls import CallRequest, Decision
from seeds.walk import Walk, walk

NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)

BUDGETS = """\
budgets:
  daily_limit_usd: 5.00
  monthly_limit_usd: 50.00
  per_backend:
    claude: 20.00/month
    kimi: 15.00/month
    gpt: 10.00/month
    gemini: 5.00/month
  warning_threshold: 0.8  # warn at 80% spend
  hard_stop: true  # refuse cloud calls at limit
"""
PROVIDERS = """\
providers:
  - {name: anthropic, models: [claude-sonnet-4-5], priority: 1}
  - {name: moonshotai, models: [kimi-k2], priority: 2}
  - {name: openai, models: [gpt-4o], priority: 3}
  - {name: google, models: [gemini-2.5-flash], priority: 4}
  - {name: ollama, kind: local, models: [hermes3], priority: 100}
"""


@pytest.fixture
def seed(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Walk:
    return walk(tmp_path, NOW, capsys, monkeypatch)


def ask(max_tokens: int) -> CallRequest:
    return CallRequest(provider="anthropic", model="claude-sonnet-4-5", input_tokens=0, max_tokens=max_tokens)


def test_budgets_block_loads_as_written(seed: Walk) -> None:
    seed.write_config("budgets.yaml", BUDGETS)
    with seed.warden() as warden:
        budgets = {b.id: b for b in warden.settings.budgets}
        assert list(budgets) == ["cloud-daily", "cloud-monthly", "per-backend-month"]
        assert (budgets["cloud-daily"].cost_usd, budgets["cloud-monthly"].cost_usd) == (5, 50)
        assert budgets["cloud-daily"].where == {"provider": ["anthropic", "moonshotai", "openai", "google"]}
        overrides = budgets["per-backend-month"].overrides
        per_backend = {name: limits.cost_usd for name, limits in overrides.items()}
        assert per_backend == {"anthropic": 20, "moonshotai": 15, "openai": 10, "google": 5}
        assert all([str(t.percent) for t in b.thresholds or []] == ["80"] for b in budgets.values())


def test_hard_stop_goes_local_with_the_notice_and_backends_shift(seed: Walk) -> None:
    seed.write_config("budgets.yaml", BUDGETS + PROVIDERS)
    warden = seed.warden()
    try:
        warden.record(
            provider="anthropic", model="claude-sonnet-4-5", output_tokens=1_150_000, occurred_at=NOW
        )
        admission = warden.admit(ask(1_000))
        assert (admission.provider, admission.model) == ("ollama", "hermes3")
        assert admission.notices == (
            "Cloud budget exhausted, operating local-only until 2026-11-19 00:00 UTC",
        )
        warden.release(admission)
    finally:
        warden.close()
    seed.now = datetime(2026, 11, 19, 9, tzinfo=UTC)  # a new day: the cloud is back, claude has $2.75 left
    with seed.warden() as warden:
        admission = warden.admit(ask(250_000))  # up to $3.75: the next backend with room
        assert (admission.decision, admission.provider, admission.model) == (
            Decision.FALLBACK,
            "moonshotai",
            "kimi-k2",
        )
        warden.release(admission)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (BUDGETS.replace("hard_stop: true", "hard_stopp: true"), "budgets.hard_stopp"),
        (BUDGETS.replace("20.00/month", "20.00/fortnight"), "budgets.per_backend.claude"),
        (BUDGETS.replace("warning_threshold: 0.8", "warning_threshold: high"), "budgets.warning_threshold"),
        (BUDGETS.replace("hard_stop: true", "hard_stop: yes please"), "budgets.hard_stop"),
    ],
)
def test_bad_keys_name_the_file_and_key(seed: Walk, text: str, key: str) -> None:
    path = seed.write_config("budgets.yaml", text)
    ran = seed.run("report")
    assert ran.code == 2 and f"{path}: {key}: " in ran.err, ran.err


def test_costs_shows_today_month_and_each_backend_beside_the_budgets(seed: Walk) -> None:
    """Yesterday claude spent $3.00 (200,000 output tokens), today $17.25: today $17.25, this month
    $20.25; claude's $20.00 a month has nothing left, kimi's $15.00 is untouched."""
    seed.write_config("budgets.yaml", BUDGETS + PROVIDERS)
    with seed.warden() as warden:
        warden.record(
            provider="anthropic",
            model="claude-sonnet-4-5",
            output_tokens=200_000,
            occurred_at=NOW.replace(day=17),
        )
        warden.record(
            provider="anthropic", model="claude-sonnet-4-5", output_tokens=1_150_000, occurred_at=NOW
        )
    data = seed.run("costs", "--json").json()
    assert (data["today"]["cost"], data["month"]["cost"]) == ("17.25", "20.25")
    backends = {b["provider"]: b for b in data["backends"]}
    assert next(iter(backends)) == "anthropic"
    claude = backends["anthropic"]
    assert (claude["today"], claude["month"], claude["budget"]["limit"], claude["budget"]["remaining"]) == (
        "17.25",
        "20.25",
        "20.00",
        "0.00",
    )
    assert (
        backends["moonshotai"]["budget"]["remaining"] == "15.00" and backends["moonshotai"]["month"] == "0.00"
    )
    assert "ollama" in backends and backends["ollama"]["budget"] is None
    states = {(b["id"], b["scope"]): (b["spent"], b["remaining"], b["state"]) for b in data["budgets"]}
    assert states[("cloud-daily", "global")] == ("17.25", "0.00", "exhausted")
    assert states[("cloud-monthly", "global")] == ("20.25", "29.75", "ok")
    assert states[("per-backend-month", "provider=anthropic")] == ("20.25", "0.00", "exhausted")
    table = seed.ok("costs")
    assert "Today:" in table and "$17.25" in table and "This month:" in table and "$20.25" in table
    assert "anthropic" in table and "$20.00/month" in table
    assert table.strip().splitlines()[-1].startswith("Basis: 2 of 2 calls")
