"""Seed 001 (an agent orchestrator's cost management): its `config.yaml` blocks as written, the budgets
they make behaving as its limit table says, its per-request cost formula, and its usage by agent.

Hand-computed figures: with `sonnet` at $3.00 / $15.00 per million, 12,000 input and 3,000 output tokens
cost 12,000 / 1e6 x 3 + 3,000 / 1e6 x 15 = $0.036 + $0.045 = $0.081 (the seed's `track_usage`).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.core.calls import CallRequest
from costwarden.core.usage import Attribution, Usage
from costwarden.errors import BudgetExceeded, ConfigError, RunTerminated
from seeds.walk import Walk, walk

NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)

PRICING = """\
# config.yaml - Update when pricing changes
pricing:
  models:
    haiku:
      input_per_million: 0.25
      output_per_million: 1.25
    sonnet:
      input_per_million: 3.00
      output_per_million: 15.00
    opus:
      input_per_million: 15.00
      output_per_million: 75.00
  last_updated: "2026-02-01"
"""

LIMITS = """\
# config.yaml
limits:
  global:
    max_tokens_per_day: 1000000
    max_cost_per_day: 50.00
    max_cost_per_month: 500.00
    max_concurrent_agents: 5

  per_project:
    default:
      max_cost_per_day: 20.00
      max_cost_per_month: 200.00

  per_agent:
    default:
      max_tokens_per_run: 100000
      max_cost_per_run: 5.00

# Project-specific overrides
projects:
  my-arpg:
    limits:
      max_cost_per_day: 30.00
      max_cost_per_month: 300.00
"""

ALERTS = """\
# config.yaml
alerts:
  thresholds:
    - percent: 50
      level: info
      message: "50% of daily budget used"
    - percent: 80
      level: warning
      message: "80% of daily budget used"
    - percent: 95
      level: critical
      message: "95% of daily budget used - approaching limit"
"""

RETENTION = """\
# config.yaml
usage:
  retention:
    detailed: 90   # Days to keep per-request records
    daily: 365     # Days to keep daily aggregates
    monthly: forever  # Keep monthly summaries indefinitely

  aggregation:
    # Run daily at 2 AM
    schedule: "0 2 * * *"
"""


@pytest.fixture
def seed(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Walk:
    return walk(tmp_path, NOW, capsys, monkeypatch)


def test_pricing_models_price_calls_by_the_seed_formula(seed: Walk) -> None:
    seed.write_config("config.yaml", PRICING)
    with seed.warden() as warden:
        assert warden.settings.pricing.last_updated is not None
        event = warden.record(
            provider="anthropic",
            model="sonnet",
            input_tokens=12_000,
            output_tokens=3_000,
            project="p",
            agent="a",
        )
        assert event.cost is not None and event.cost.total == Decimal("0.081")
        haiku = warden.record(
            provider="anthropic", model="haiku", input_tokens=1_000_000, output_tokens=1_000_000
        )
        assert haiku.cost is not None and haiku.cost.total == Decimal("1.50")  # 0.25 + 1.25
    out = seed.ok("report")
    assert "$1.58" in out  # 0.081 + 1.50 = 1.581
    assert "and your prices of 2026-02-01" in out.strip().splitlines()[-1]
    assert seed.run("report", "--json").json()["basis"]["prices_updated"] == "2026-02-01"


def test_limits_block_per_day_and_project_terminate_runs_and_queue_agents(seed: Walk) -> None:
    seed.write_config("config.yaml", LIMITS)
    warden = seed.warden()
    try:
        ids = [b.id for b in warden.settings.budgets]
        assert ids == [
            "limits-global-day",
            "limits-global-month",
            "limits-global-concurrent",
            "limits-project-day",
            "limits-project-month",
            "limits-agent-run",
        ]
        # $15 each: 200,000 output tokens of claude-opus-4-1 at $75 per million
        for project in ("web", "my-arpg"):
            warden.record(
                provider="anthropic",
                model="claude-opus-4-1",
                output_tokens=200_000,
                occurred_at=NOW,
                project=project,
            )

        def ask(max_tokens: int, **who: str) -> CallRequest:
            return CallRequest(
                provider="anthropic",
                model="claude-sonnet-4-5",
                input_tokens=0,
                max_tokens=max_tokens,
                attribution=Attribution(**who),
            )

        with pytest.raises(BudgetExceeded) as info:  # web: $15 + up to $6 > per_project.default $20 a day
            warden.admit(ask(400_000, project="web"))
        assert (info.value.budget_id, info.value.scope) == ("limits-project-day", "project=web")
        warden.release(warden.admit(ask(400_000, project="my-arpg")))  # my-arpg's own $30 a day
        # the global day: 400,000 tokens used of 1,000,000; a call of up to 700,000 more does not fit
        with pytest.raises(BudgetExceeded) as info:
            warden.admit(ask(700_000))
        assert info.value.budget_id == "limits-global-day"
        # per agent and run: 100,000 tokens, then the run is terminated
        with warden.run(agent="coder", project="my-arpg", run="r1"):
            with warden.guard(
                CallRequest(provider="openai", model="gpt-4o-mini", input_tokens=0, max_tokens=60_000)
            ) as admission:
                warden.settle(admission, Usage(output_tokens=60_000))
            with pytest.raises(RunTerminated) as stopped:
                warden.admit(
                    CallRequest(provider="openai", model="gpt-4o-mini", input_tokens=0, max_tokens=60_000)
                )
            assert stopped.value.budget_id == "limits-agent-run" and stopped.value.unit == "tokens"
        # at most 5 agent runs at once: the 6th waits for a slot
        entered, leave = threading.Event(), threading.Event()

        def agent(n: int) -> None:
            with warden.run(agent=f"a{n}", run=f"slot-{n}"):
                entered.set()
                leave.wait(10)

        first = [threading.Thread(target=agent, args=(n,)) for n in range(5)]
        for thread in first:
            thread.start()
        time.sleep(0.3)
        entered.clear()
        sixth = threading.Thread(target=agent, args=(6,))
        sixth.start()
        assert not entered.wait(0.4)  # queued
        leave.set()
        for thread in [*first, sixth]:
            thread.join(10)
        assert entered.is_set() and not sixth.is_alive()
    finally:
        warden.close()
    status = {(r["id"], r["unit"]): r for r in seed.run("budget", "status", "--json").json()}
    assert status[("limits-global-day", "cost_usd")]["limit"] == "50.00"
    assert status[("limits-global-day", "tokens")]["limit"] == 1_000_000
    assert status[("limits-global-concurrent", "concurrent_runs")]["limit"] == 5


def test_alert_thresholds_and_retention_as_written(seed: Walk) -> None:
    seed.write_config("config.yaml", ALERTS + RETENTION)
    with seed.warden() as warden:
        thresholds = warden.settings.alerts.thresholds
        assert [(t.percent, t.level, t.message) for t in thresholds] == [
            (Decimal(50), "info", "50% of daily budget used"),
            (Decimal(80), "warning", "80% of daily budget used"),
            (Decimal(95), "critical", "95% of daily budget used - approaching limit"),
        ]
        retention = warden.settings.retention
        assert (retention.detailed_days, retention.daily_days, retention.monthly_days) == (90, 365, None)
    imported = seed.run("config", "import", str(seed.config))
    assert imported.code == 0, imported.err
    assert "usage.aggregation.schedule" in imported.err and "costwarden maintain" in imported.err
    assert "detailed_days: 90" in imported.out and "monthly_days: null" in imported.out


def test_the_whole_file_imports_and_the_import_loads_the_same(seed: Walk, tmp_path: Path) -> None:
    seed.write_config(
        "config.yaml",
        PRICING + LIMITS.replace("# config.yaml\n", "") + RETENTION.replace("# config.yaml\n", ""),
    )
    out = tmp_path / "costwarden.yaml"
    ran = seed.run("config", "import", str(seed.config), "--output", str(out))
    assert ran.code == 0, ran.err
    assert "limits.per_project.default.max_cost_per_day" in ran.out and "budgets[3].cost_usd" in ran.out
    assert "projects.my-arpg.limits.max_cost_per_day" in ran.out
    from costwarden.config import load_settings

    original, imported = load_settings(seed.config), load_settings(out)
    assert original.budgets == imported.budgets
    assert original.pricing == imported.pricing and original.retention == imported.retention
    again = seed.run("config", "import", str(seed.config), "--output", str(out))
    assert again.code == 2 and "--force" in again.err


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            LIMITS.replace("max_cost_per_day: 50.00", "max_cost_per_dya: 50.00"),
            "limits.global.max_cost_per_dya",
        ),
        (LIMITS.replace("per_agent:", "per_agnet:"), "limits.per_agnet"),
        (
            LIMITS.replace("      max_cost_per_run: 5.00", "      max_cost_per_run: -5"),
            "limits.per_agent.default.max_cost_per_run",
        ),
        (
            LIMITS.replace(
                "    limits:\n      max_cost_per_day: 30.00", "    limitz:\n      max_cost_per_day: 30.00"
            ),
            "projects.my-arpg.limitz",
        ),
        (
            PRICING.replace("output_per_million: 1.25", "output_per_millon: 1.25"),
            "pricing.models.haiku.output_per_millon",
        ),
        (RETENTION.replace("monthly: forever", "monthly: always"), "usage.retention.monthly"),
    ],
)
def test_unknown_keys_and_bad_values_name_the_file_and_key(seed: Walk, text: str, key: str) -> None:
    path = seed.write_config("config.yaml", text)
    ran = seed.run("report")
    assert ran.code == 2
    assert f"{path}: {key}: " in ran.err, ran.err
    from costwarden.config import load_settings

    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert (info.value.source, info.value.key) == (str(path), key)


def test_usage_by_agent_carries_run_count_and_per_run_averages(seed: Walk) -> None:
    """Seed 001's "usage by agent type": total tokens and cost, COUNT(DISTINCT run_id) and the average per
    run. Each call: 10,000 in + 2,000 out of `sonnet` = $0.03 + $0.03 = $0.06 and 12,000 tokens.
    feature-dev: 3 calls in 2 runs -> 36,000 tokens / 2 = 18,000 per run, $0.18 / 2 = $0.09 per run;
    bugfix-dev: 1 call in 1 run; clarifier: 1 call outside any run (no runs)."""
    seed.write_config("config.yaml", PRICING)
    calls = [("feature-dev", "f1"), ("feature-dev", "f1"), ("feature-dev", "f2"), ("bugfix-dev", "b1")]
    with seed.warden() as warden:
        for agent, run in calls:
            warden.record(
                provider="anthropic",
                model="sonnet",
                input_tokens=10_000,
                output_tokens=2_000,
                agent=agent,
                run=run,
            )
        warden.record(
            provider="anthropic", model="sonnet", input_tokens=10_000, output_tokens=2_000, agent="clarifier"
        )
    groups = {g["key"]["agent"]: g for g in seed.run("report", "--by-agent", "--json").json()["groups"]}
    picked = {
        agent: (g["cost"], g["total_tokens"], g["run_count"], g["average_tokens_per_run"], g["cost_per_run"])
        for agent, g in groups.items()
    }
    assert picked == {
        "feature-dev": ("0.18", 36_000, 2, "18000.0", "0.09"),
        "bugfix-dev": ("0.06", 12_000, 1, "12000.0", "0.06"),
        "clarifier": ("0.06", 12_000, 0, "0", "0.00"),
    }
    table = seed.ok("report", "--by", "agent")
    runs = table[table.index("RUNS BY AGENT") :].splitlines()
    assert any(line.split() == ["feature-dev", "2", "18K", "$0.09"] for line in runs), runs
    ranked = seed.run("top", "--agents", "--json").json()["rows"]
    assert [(r["key"]["agent"], r["run_count"], r["cost_per_run"]) for r in ranked] == [
        ("feature-dev", 2, "0.09"),
        ("bugfix-dev", 1, "0.06"),
        ("clarifier", 0, "0.00"),
    ]
    assert "feature-dev" in seed.ok("top", "--agents")


NOTIFICATIONS = """\
alerts:
  notifications:
    - type: in_app  # Always enabled
    - type: email
      enabled: true
      recipients:
        - admin@example.com
    - type: webhook
      enabled: false
      url: https://hooks.example.com/alerts
  smtp:
    host: 127.0.0.1
    from: costwarden@example.com
"""


def test_notifications_as_written_and_a_webhook_turned_on(seed: Walk) -> None:
    seed.write_config("config.yaml", NOTIFICATIONS)
    with seed.warden() as warden:
        channels = warden.settings.alerts.channels
        assert [channel.type for channel in channels] == ["log", "email"]  # the disabled webhook is left out
    turned_on = NOTIFICATIONS.replace("enabled: false", "enabled: true")
    seed.write_config("config.yaml", turned_on)
    with seed.warden() as warden:  # no secret to sign with: an unsigned incoming webhook
        (webhook,) = [c for c in warden.settings.alerts.channels if c.type not in ("log", "email")]
        assert webhook.type == "slack"
    imported = seed.run("config", "import", str(seed.config))
    assert imported.code == 0, imported.err
    assert "unsigned; add secret: to sign" in imported.out + imported.err
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    seed.write_config("config.yaml", turned_on.replace("alerts\n", f"alerts\n      secret: {secret}\n"))
    with seed.warden() as warden:
        (webhook,) = [c for c in warden.settings.alerts.channels if c.type not in ("log", "email")]
        assert webhook.type == "webhook"
    seed.write_config("config.yaml", turned_on.replace("alerts\n", "alerts\n      sekret: x\n"))
    ran = seed.run("alerts")
    assert ran.code == 2 and "alerts.notifications[2].sekret" in ran.err, ran.err
