"""Utilization alerts (seed 003: the floor matters more than the ceiling): a plan under its floor at
mid-cycle, a window nearly exhausted, the fleet of paid plans under 70 %; each with the money at stake,
recorded once per cycle like budget threshold alerts. Clock-driven. And the cap learned from limit hits,
and routing to spare subscription quota."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import load_settings, settings_from_mapping
from costwarden.core.calls import CallRequest, Decision
from costwarden.ledger import MemoryLedger
from costwarden.quotas.alerts import UtilizationAlertsConfig, utilization_findings
from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow
from costwarden.views.quota_status import QuotaQuery, quota_status_view
from costwarden.warden import Warden

PRICING = {"custom_models": [{"provider": "anthropic", "model": "claude-x", "input": "3", "output": "15"}]}
MID = datetime(2026, 12, 17, 0, 0, tzinfo=UTC)  # 16 of 31 days of December: past mid-cycle


def codex(util: float, at: datetime, reset_hours: float = 5) -> QuotaSnapshot:
    windows = {
        "primary-300m": QuotaWindow(
            "primary-300m", utilization=util, reset_at=at + timedelta(hours=reset_hours)
        ),
    }
    return QuotaSnapshot("codex", at, windows, source="codex")


@pytest.fixture
def make() -> Iterator[Any]:
    made: list[Warden] = []

    def build(clock: FixedClock, **config: Any) -> Warden:
        warden = Warden(
            settings_from_mapping({"pricing": PRICING, **config}), ledger=MemoryLedger(), clock=clock
        )
        made.append(warden)
        return warden

    yield build
    for warden in made:
        warden.close()


def findings(warden: Warden, **config: Any) -> list[Any]:
    result = quota_status_view(warden, QuotaQuery())
    return utilization_findings(list(result.plans), UtilizationAlertsConfig(**config), result.at)


def test_under_the_floor_at_mid_cycle_says_the_money_at_stake(make: Any) -> None:
    clock = FixedClock(datetime(2026, 12, 10, tzinfo=UTC))
    warden = make(clock, subscriptions=[{"provider": "codex", "plan": "chatgpt-pro"}])
    warden.quotas.record(codex(0.10, clock.now() - timedelta(hours=3)))  # 10 % in 3 of 5 hours: 16.7 %
    assert findings(warden) == []  # before mid-cycle: no floor alert yet
    clock.set(MID)
    warden.quotas.record(codex(0.186, MID - timedelta(hours=3)))  # 18.6 % -> 31 % projected
    got = {f.kind: f for f in findings(warden)}
    assert set(got) == {"under_floor", "fleet_under_floor"}  # the only paid plan is the fleet
    finding = got["under_floor"]
    assert finding.key == "codex/default"
    assert finding.message == (
        "ChatGPT Pro (codex): $200 plan, 19% used, 31% projected by the end of the cycle (floor 50%), "
        "~$138 of it unused at this pace; route more work there"
    )
    assert finding.at_stake_usd == Decimal(138) and finding.period_key == "2026-12-01T00:00:00+00:00"


def test_near_exhaustion_and_the_fleet_floor(make: Any) -> None:
    clock = FixedClock(MID)
    warden = make(
        clock,
        subscriptions=[
            {"provider": "codex", "plan": "chatgpt-plus"},
            {
                "provider": "anthropic",
                "plan": "claude-max-20x",
                "windows": [{"name": "messages-5h", "limit": 10}],
            },
        ],
    )
    warden.quotas.record(codex(0.97, MID - timedelta(hours=1)))  # 97 %: under 5 % left
    for minute in range(2):  # 2 of 10 messages in 5 hours: 20 %, no projection for a rolling count
        warden.record(
            provider="anthropic",
            model="claude-x",
            input_tokens=10,
            output_tokens=1,
            agent="claude-code",
            occurred_at=MID - timedelta(minutes=minute),
        )
    got = {f.kind: f for f in findings(warden)}
    assert set(got) == {"near_exhaustion", "under_floor", "fleet_under_floor"}
    assert got["near_exhaustion"].key == "codex/default/5h"
    assert got["near_exhaustion"].message.startswith(
        "ChatGPT Plus (codex): 5h window 97% used, 3% left until"
    )
    assert got["under_floor"].key == "anthropic/default"
    # codex at 100 % (projected past it), anthropic 20 %: (20 * 100 + 200 * 20) / 220 = 27 %
    fleet = got["fleet_under_floor"]
    assert fleet.percent.quantize(Decimal(1)) == 27 and fleet.at_stake_usd == Decimal(160)
    assert fleet.message == (
        "Paid plans together projected at 27% of what they allow (floor 70%): "
        "~$160 of $220 unused at this pace"
    )
    assert findings(warden, enabled=False) == []
    assert {f.kind for f in findings(warden, fleet_floor_percent=20, floor_percent=10)} == {"near_exhaustion"}


def test_quota_check_raises_each_alert_once(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("subscriptions:\n  - {provider: codex, plan: chatgpt-pro}\n")
    monkeypatch.setenv("COSTWARDEN_NOW", MID.isoformat())
    with Warden(load_settings(config, database=sqlite_url)) as warden:
        warden.quotas.record(codex(0.186, MID - timedelta(hours=3)))
    args = ["--config", str(config), "--db", sqlite_url]
    assert main([*args, "quota", "check", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [(f["kind"], f["new"], f["at_stake_usd"]) for f in first["findings"]] == [
        ("under_floor", True, "138.00"),
        ("fleet_under_floor", True, "138.00"),
    ]
    assert main([*args, "quota", "check"]) == 0
    assert "(already raised)" in capsys.readouterr().out
    assert main([*args, "alerts", "--json"]) == 0
    feed = capsys.readouterr().out
    assert feed.count("quota:codex/default") == 1 and "~$138 of it unused" in feed


def test_the_cap_is_learned_from_limit_hits(make: Any) -> None:
    clock = FixedClock(MID)
    warden = make(clock, subscriptions=[{"provider": "anthropic", "plan": "claude-pro"}])
    for day, count in enumerate((40, 44, 42, 47, 43)):
        hit_at = MID - timedelta(days=5 - day)
        for i in range(count):  # messages in the 5 hours before the hit
            warden.record(
                provider="anthropic",
                model="claude-x",
                input_tokens=10,
                output_tokens=1,
                agent="claude-code",
                occurred_at=hit_at - timedelta(minutes=4 * i + 1),
            )
        hit = QuotaWindow(
            "unified-5h", utilization=1.0, status="exhausted", reset_at=hit_at + timedelta(hours=2)
        )
        warden.quotas.record_many(
            [QuotaSnapshot("anthropic", hit_at, {"unified-5h": hit}, source="claude-code")]
        )
        warden.quotas.record_many(
            [
                QuotaSnapshot(
                    "anthropic", hit_at + timedelta(minutes=5), {"unified-5h": hit}, source="claude-code"
                )
            ]
        )  # same block
    (plan,) = quota_status_view(warden, QuotaQuery()).plans
    messages = {w.window.name: w for w in plan.windows}["messages-5h"]
    learned = messages.learned
    assert learned is not None
    assert (learned.estimate, learned.low, learned.high, learned.observations) == (
        Decimal(43),
        Decimal(40),
        Decimal(47),
        5,
    )
    assert learned.confidence == "high"
    data = quota_status_view(warden, QuotaQuery()).to_json()
    window = {w["name"]: w for w in data["plans"][0]["windows"]}["messages-5h"]
    assert window["learned_limit"] == {
        "estimate": 43,
        "low": 40,
        "high": 47,
        "observations": 5,
        "confidence": "high",
    }


def test_spare_subscription_quota_is_preferred_when_asked(make: Any) -> None:
    clock = FixedClock(MID)
    providers = [
        {"name": "openai", "models": ["gpt-5"], "capabilities": ["tool_calls"], "priority": 1},
        {
            "name": "codex",
            "kind": "subscription",
            "models": ["gpt-5"],
            "capabilities": ["tool_calls"],
            "priority": 2,
        },
    ]
    warden = make(
        clock, providers=providers, quota_routing={"prefer_subscriptions": True, "spare_below_percent": 80}
    )
    call = CallRequest(provider="openai", model="gpt-5", input_tokens=10, max_tokens=10)
    warden.exhaustion.cache_seconds = 0  # read the readings on every admission
    warden.quotas.record(codex(0.31, MID))
    admission = warden.admit(call)
    assert (admission.provider, admission.decision) == ("codex", Decision.FALLBACK)
    assert (
        admission.notices[0]
        == "using spare subscription quota of codex/gpt-5 (31% used) instead of pay-per-token openai/gpt-5"
    )
    warden.release(admission)
    warden.quotas.record(codex(0.85, MID + timedelta(seconds=1)))  # no longer spare
    clock.advance(2)
    assert warden.admit(call).provider == "openai"
    off = make(clock, providers=providers)
    assert off.admit(call).provider == "openai"  # off by default
