"""Seed 002 (plans executed by agents): its config keys `budget_per_plan`, `budget_per_day` and
`fallback_providers` as named there, a warning within 10 % of a limit, a block past it, providers tried in
the `fallback_providers` order skipping those without a needed capability, and a plan's cost and remaining
budget in its status.

Hand-computed: gpt-4o output costs $10 per million tokens, so 185,000 output tokens are $1.85, 92.5 % of a
$2.00 plan budget (past the 90 % warning); the plan has $0.15 left.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.budgets import AlertRecord
from costwarden.core.calls import CallRequest, Decision
from costwarden.core.usage import Attribution
from costwarden.errors import BudgetExceeded
from seeds.walk import Walk, walk

NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)

KEYS = """\
budget_per_plan: 2.00
budget_per_day: 25.00
fallback_providers: [openai, groq, anthropic]
"""
PROVIDERS = """\
providers:
  - {name: openai, models: [gpt-4o], capabilities: [tool_calls, streaming, json_mode]}
  - {name: anthropic, models: [claude-sonnet-4-5], capabilities: [tool_calls, streaming]}
  - {name: groq, models: [gemma2-9b-it], capabilities: [streaming]}
"""
OPENAI_DAILY = """\
budgets:
  - {id: openai-daily, scope: provider, value: openai, period: day, cost_usd: 10.00, action: fallback,
     fallback: [chain], fallback_order: priority}
"""


@pytest.fixture
def seed(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Walk:
    return walk(tmp_path, NOW, capsys, monkeypatch)


def ask(max_tokens: int, *needs: str, plan: str | None = None) -> CallRequest:
    return CallRequest(
        provider="openai",
        model="gpt-4o",
        input_tokens=0,
        max_tokens=max_tokens,
        attribution=Attribution(plan=plan),
        capabilities=frozenset(needs) or None,
    )


def test_plan_budget_warns_within_10_percent_and_blocks_past_it(seed: Walk) -> None:
    seed.write_config("config.yaml", KEYS + PROVIDERS)
    with seed.warden() as warden:
        assert [(b.id, b.scope, b.cost_usd) for b in warden.settings.budgets] == [
            ("budget-per-plan", "plan", Decimal("2.00")),
            ("budget-per-day", "global", Decimal("25.00")),
        ]
        alerts: list[AlertRecord] = []
        warden.on_alert(alerts.append)
        warden.record(provider="openai", model="gpt-4o", output_tokens=185_000, occurred_at=NOW, plan="p1")
        assert [(a.budget_id, a.threshold, a.level) for a in alerts] == [("budget-per-plan", "90", "warning")]
        with pytest.raises(BudgetExceeded) as info:  # up to $0.20 more: past the plan's $2.00
            warden.admit(ask(20_000, plan="p1"))
        assert info.value.budget_id == "budget-per-plan"
        warden.release(warden.admit(ask(20_000, plan="p2")))  # another plan has its own $2.00
        warden.record(provider="openai", model="gpt-4o", output_tokens=2_300_000, occurred_at=NOW)  # $23
        with pytest.raises(BudgetExceeded) as info:  # $24.85 of the day's $25.00: up to $0.20 does not fit
            warden.admit(ask(20_000, plan="p3"))
        assert info.value.budget_id == "budget-per-day"


def test_fallback_providers_set_the_order_and_capabilities_are_respected(seed: Walk) -> None:
    seed.write_config("config.yaml", KEYS + PROVIDERS + OPENAI_DAILY)
    with seed.warden() as warden:
        assert [(p.name, p.priority) for p in warden.settings.providers] == [
            ("openai", 1),
            ("anthropic", 3),
            ("groq", 2),
        ]
        warden.record(provider="openai", model="gpt-4o", output_tokens=1_000_000, occurred_at=NOW)  # $10
        streaming = warden.admit(ask(1_000, "streaming"))
        assert (streaming.decision, streaming.provider) == (Decision.FALLBACK, "groq")  # groq comes second
        warden.release(streaming)
        tools = warden.admit(ask(1_000, "tool_calls"))
        assert tools.provider == "anthropic"  # groq has no tool calling: skipped
        warden.release(tools)
        with pytest.raises(BudgetExceeded, match="no fallback had room"):
            warden.admit(ask(1_000, "json_mode"))  # only openai has it


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (KEYS.replace("groq, anthropic", "groq, mistral"), "fallback_providers[2]", "not listed under"),
        (KEYS.replace("[openai, groq", "[openai, openai"), "fallback_providers[1]", "listed twice"),
        (KEYS.replace("budget_per_plan: 2.00", "budget_per_plan: lots"), "budget_per_plan", "amount"),
        (KEYS.replace("budget_per_day: 25.00", "budget_per_dya: 25.00"), "budget_per_dya", "unknown key"),
    ],
)
def test_bad_keys_name_the_file_and_key(seed: Walk, text: str, key: str, words: str) -> None:
    path = seed.write_config("config.yaml", text + PROVIDERS)
    ran = seed.run("report")
    assert ran.code == 2 and f"{path}: {key}: " in ran.err and words in ran.err, ran.err


def test_plan_status_shows_cost_tokens_and_the_budgets_remaining(seed: Walk) -> None:
    """`plan status` with cost tracking fields: $1.85 spent, $0.15 left of the plan's $2.00 (92.5 %), and
    $23.15 left of the day's $25.00; a plan that has not spent yet has its whole $2.00."""
    seed.write_config("config.yaml", KEYS + PROVIDERS)
    with seed.warden() as warden:
        warden.record(
            provider="openai",
            model="gpt-4o",
            input_tokens=0,
            output_tokens=185_000,
            occurred_at=NOW,
            plan="p1",
            run="r1",
            agent="planner",
        )
    data = seed.run("report", "--plan", "p1", "--json").json()
    assert (data["plan"], data["totals"]["cost"], data["totals"]["output_tokens"], data["runs"]) == (
        "p1",
        "1.85",
        185_000,
        1,
    )
    budgets = {b["id"]: b for b in data["budgets"]}
    assert (budgets["budget-per-plan"]["remaining"], budgets["budget-per-plan"]["percent"]) == (
        "0.15",
        "92.5",
    )
    assert budgets["budget-per-plan"]["state"] == "warning"
    assert budgets["budget-per-day"]["remaining"] == "23.15"
    table = seed.ok("report", "--plan", "p1")
    assert "Plan p1" in table and "$1.85" in table and "$0.15" in table and "185,000" in table
    assert table.strip().splitlines()[-1].startswith("Basis: 1 of 1 calls")
    fresh = {b["id"]: b["remaining"] for b in seed.run("report", "--plan", "p9", "--json").json()["budgets"]}
    assert fresh == {"budget-per-plan": "2.00", "budget-per-day": "23.15"}
