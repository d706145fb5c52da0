"""Periods (timezone midnight, rolling windows, late events), thresholds alerting once, rebuilds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from budget_helpers import PRICING, Clock, MakeWarden, call

from costwarden.budgets import AlertRecord, BudgetEngine
from costwarden.core.usage import Attribution, Usage
from costwarden.errors import BudgetExceeded
from costwarden.warden import Warden

USAGE = Usage(input_tokens=100, output_tokens=100)  # $0.20 on cloud/big: exactly the worst case


def engine_of(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def spend(warden: Warden, clock: Clock, model: str = "big", **attribution: Any) -> None:
    with warden.guard(call(model=model, attribution=Attribution(**attribution))) as admission:
        warden.settle(admission, USAGE, occurred_at=clock.at)


def test_daily_budget_resets_at_the_timezones_midnight(make_warden: MakeWarden) -> None:
    # 22:30 UTC on Nov 23 is 23:30 in Berlin (CET, +1): the Berlin day ends at 23:00 UTC.
    clock = Clock(datetime(2026, 11, 23, 22, 30, tzinfo=UTC))
    warden = make_warden(
        clock=clock,
        timezone="Europe/Berlin",
        pricing=PRICING,
        budgets=[{"id": "daily", "period": "day", "cost_usd": "0.40"}],
    )
    spend(warden, clock)
    spend(warden, clock)
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call())
    assert info.value.resets_at == datetime(2026, 11, 23, 23, tzinfo=UTC)
    assert str(info.value).endswith("calls are refused until 2026-11-24 00:00 CET")
    clock.set(datetime(2026, 11, 23, 22, 59, 59, tzinfo=UTC))
    with pytest.raises(BudgetExceeded):
        warden.admit(call())
    clock.set(datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # Berlin midnight
    spend(warden, clock)


def test_monthly_budget_resets_on_the_first(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "m", "period": "month", "cost_usd": "0.20"}]
    )
    spend(warden, clock)
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call())
    assert info.value.resets_at == datetime(2026, 12, 1, tzinfo=UTC)
    clock.set(datetime(2026, 12, 1, tzinfo=UTC))
    spend(warden, clock)


def test_rolling_window_slides(make_warden: MakeWarden) -> None:
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    clock = Clock(start)
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "5h", "period": "rolling: 5h", "cost_usd": "0.40"}]
    )
    spend(warden, clock)
    clock.advance(3600)
    spend(warden, clock)  # 09:00
    clock.set(start + timedelta(hours=4, minutes=59))
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call())
    assert info.value.period == "rolling 5h"
    # the 08:00 spend leaves the window once its 10-minute bucket is 5h old
    assert info.value.resets_at == start + timedelta(hours=5, minutes=10)
    clock.set(start + timedelta(hours=5, minutes=10))
    spend(warden, clock)
    with pytest.raises(BudgetExceeded):  # the 09:00 spend is still inside
        warden.admit(call())
    clock.set(start + timedelta(hours=6, minutes=10))
    spend(warden, clock)


def test_a_late_event_lands_in_its_own_period(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 24, 9, tzinfo=UTC))
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "daily", "period": "day", "cost_usd": "0.40"}]
    )
    warden.release(warden.admit(call()))
    # yesterday's usage arrives today (an import): it counts for yesterday, today stays free
    warden.record(
        provider="cloud",
        model="big",
        input_tokens=300,
        output_tokens=100,
        occurred_at=datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
    )
    counters = engine_of(warden).store.counters("daily")
    assert {k.rsplit("|", 1)[1]: s.spent.cost for k, s in counters.items() if s.spent} == {
        "d:2026-11-23T00:00": 4_000_000_000
    }
    spend(warden, clock)
    spend(warden, clock)
    with pytest.raises(BudgetExceeded):
        warden.admit(call())


def test_a_call_settling_after_midnight_counts_in_the_new_day(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC))
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "daily", "period": "day", "cost_usd": "1"}]
    )
    admission = warden.admit(call())
    clock.set(datetime(2026, 11, 24, 0, 0, 1, tzinfo=UTC))
    warden.settle(admission, USAGE, occurred_at=clock.at)
    counters = engine_of(warden).store.counters("daily")
    assert {k.rsplit("|", 1)[1]: (s.spent.cost, s.reserved.cost) for k, s in counters.items()} == {
        "d:2026-11-23T00:00": (0, 0),
        "d:2026-11-24T00:00": (2_000_000_000, 0),
    }


def test_thresholds_alert_exactly_once(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    budgets = [{"id": "daily", "period": "day", "cost_usd": "1.00", "scope": "project"}]
    warden = make_warden(clock=clock, pricing=PRICING, budgets=budgets)
    received: list[AlertRecord] = []
    warden.on_alert(received.append)
    for _ in range(5):  # $0.20 each: 20, 40, 60, 80, 100 %
        spend(warden, clock, project="web")
    spend(warden, clock, model="small", project="api")
    got = [(a.threshold, a.scope, a.level) for a in received if a.kind == "threshold"]
    assert got == [
        ("50", "project=web", "info"),
        ("80", "project=web", "warning"),
        ("95", "project=web", "critical"),
    ]
    assert (
        received[0].message == "Budget 'daily' (project=web, day) reached 50% of its $1.00 limit: $0.60 spent"
    )
    engine = engine_of(warden)
    assert engine.records is not None
    stored = engine.records.alerts(kinds=["threshold"])
    assert [a.threshold for a in stored] == ["95", "80", "50"]  # newest first
    # another process (a second Warden on the same storage) crossing again records nothing new
    if warden.settings.database is not None or warden.settings.redis_url:
        again = engine.hub.emit(stored[0])
        assert again is None
    clock.set(datetime(2026, 11, 24, 9, tzinfo=UTC))  # a new day: new alerts
    for _ in range(3):
        spend(warden, clock, project="web")
    assert [a.threshold for a in received if a.kind == "threshold"][-1:] == ["50"]


def test_threshold_messages_and_token_limits(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    warden = make_warden(
        clock=clock,
        pricing=PRICING,
        budgets=[
            {
                "id": "tok",
                "period": "day",
                "tokens": 1000,
                "thresholds": [{"percent": 30, "message": "30% of tokens"}],
            }
        ],
    )
    received: list[AlertRecord] = []
    warden.on_alert(received.append)
    spend(warden, clock)  # 200 tokens
    spend(warden, clock)  # 400 tokens
    assert [(a.dimension, a.message) for a in received] == [("tokens", "30% of tokens")]


def test_rebuild_recomputes_counters_from_the_ledger(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    warden = make_warden(
        clock=clock,
        pricing=PRICING,
        budgets=[
            {"id": "daily", "period": "day", "cost_usd": "5"},
            {"id": "per-project", "scope": "project", "period": "month", "cost_usd": "5"},
            {"id": "5h", "period": "rolling: 5h", "cost_usd": "5"},
            {"id": "ever", "period": "total", "requests": 100},
        ],
    )
    warden.record(
        provider="cloud", model="big", input_tokens=10, occurred_at=clock.at - timedelta(days=40), project="a"
    )
    for project in ("a", "b", "a"):
        spend(warden, clock, project=project)
    engine = engine_of(warden)
    ids = ("daily", "per-project", "5h", "ever")
    current = {
        b: {
            k: s.spent
            for k, s in engine.store.counters(b).items()
            if s.spent and k.rsplit("|", 1)[1] in engine.window(engine.policies.by_id[b]).keys
        }
        for b in ids
    }
    assert sum(a.cost for a in current["ever"].values()) == 6_100_000_000  # `total` holds the old event
    held = warden.admit(call())
    engine.store.rebuild(ids, lambda: {})  # counters lost
    assert all(s.spent.cost == 0 for b in ids for s in engine.store.counters(b).values())
    assert engine.rebuild() > 0
    after = {b: {k: s.spent for k, s in engine.store.counters(b).items() if s.spent} for b in ids}
    assert after == current
    assert sum(s.reserved.cost for s in engine.store.counters("daily").values()) == 2_000_000_000  # kept
    assert sum(s.spent.requests for s in engine.store.counters("ever").values()) == 4
    warden.release(held)


def test_budgets_set_from_the_cli_apply_and_config_wins(make_warden: MakeWarden) -> None:
    from costwarden.budgets import SavedBudget

    clock = Clock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "daily", "period": "day", "cost_usd": "5"}]
    )
    engine = engine_of(warden)
    assert engine.records is not None
    engine.records.save_budget(SavedBudget("daily", {"period": "day", "cost_usd": "0.1"}))
    engine.records.save_budget(SavedBudget("tiny", {"period": "day", "cost_usd": "0.3"}))
    engine.config = engine.config.model_copy(update={"refresh": 0.0})
    spend(warden, clock)
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call())
    assert info.value.budget_id == "tiny"
    assert engine.shadowed == ("daily",)
    assert engine.policies.by_id["daily"].limits.cost == 50_000_000_000
    assert engine.records.remove_budget("tiny")
    spend(warden, clock)


@pytest.mark.parametrize("budget_backend", [pytest.param("redis", marks=pytest.mark.redis)])
def test_a_redis_that_lost_its_data_is_rebuilt_from_the_ledger(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "daily", "period": "day", "cost_usd": "1"}]
    )
    engine = engine_of(warden)
    spend(warden, clock)
    spend(warden, clock)
    held = warden.admit(call())
    engine.store.flush()  # type: ignore[attr-defined]  # Redis restarted without persistence
    warden.settle(held, USAGE, occurred_at=clock.at)  # counted by the rebuild, not twice
    counters = engine.store.counters("daily")
    assert sum(s.spent.cost for s in counters.values()) == 6_000_000_000
    spend(warden, clock)
    spend(warden, clock)
    with pytest.raises(BudgetExceeded) as info:  # $0.80 + $0.20 fits, the sixth call does not
        spend(warden, clock)
        warden.admit(call())
    assert info.value.spent == warden.ledger.totals()[0].cost
