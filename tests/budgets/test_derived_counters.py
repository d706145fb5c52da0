"""Counters are a cache of the ledger: a budget added after spend, or changed, counts the spend already in
its period, without `budget rebuild`, on every backend; derivation is once per key and race-safe."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from budget_helpers import PRICING, Clock, MakeWarden, call

from costwarden.budgets import AlertRecord, BudgetEngine, SavedBudget
from costwarden.budgets.status import budget_status
from costwarden.core.money import to_units
from costwarden.core.usage import Attribution, Usage, UsageEvent
from costwarden.errors import BudgetExceeded
from costwarden.storage.ledger import EventQuery
from costwarden.warden import Warden

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
USAGE = Usage(input_tokens=100, output_tokens=100)  # $0.20 on cloud/big


def engine_of(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def record(warden: Warden, at: datetime, project: str = "web", model: str = "big") -> None:
    warden.record(
        provider="cloud",
        model=model,
        input_tokens=100,
        output_tokens=100,
        occurred_at=at,
        project=project,
    )


def spent(warden: Warden, budget_id: str, scope: str | None = None) -> Decimal:
    rows = [
        r
        for r in budget_status(engine_of(warden), NOW)
        if r.policy.id == budget_id and r.dimension == "cost" and (scope is None or r.scope == scope)
    ]
    assert rows, f"no status for {budget_id}"
    return sum((Decimal(r.spent) for r in rows), Decimal(0)) / Decimal(10**10)


def save(warden: Warden, budget_id: str, **definition: Any) -> None:
    records = engine_of(warden).records
    assert records is not None
    records.save_budget(SavedBudget(budget_id, {"id": budget_id, **definition}))
    engine_of(warden)._version_checked = 0.0  # re-read now instead of within `admission.refresh`


def test_budget_set_after_spend_counts_the_period(make_warden: MakeWarden) -> None:
    clock = Clock(NOW)
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "other", "period": "day", "cost_usd": 9}]
    )
    record(warden, NOW - timedelta(days=2))  # this month: $0.20
    record(warden, NOW - timedelta(hours=1))  # $0.20
    record(warden, NOW - timedelta(days=40))  # last month: not counted
    record(warden, NOW - timedelta(hours=1), project="api")  # another project
    save(warden, "web-monthly", scope="project", value="web", period="month", cost_usd="0.50")
    assert spent(warden, "web-monthly") == Decimal("0.40")
    warden.admit(call(input_tokens=50, max_tokens=50, attribution=Attribution(project="web")))  # $0.10 fits
    with pytest.raises(BudgetExceeded):
        warden.admit(call(attribution=Attribution(project="web")))  # $0.20 more does not
    warden.admit(call(attribution=Attribution(project="api")))  # outside the budget's scope


def test_budget_per_scope_value_and_total(make_warden: MakeWarden) -> None:
    clock = Clock(NOW)
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "other", "period": "day", "cost_usd": 9}]
    )
    for project, days in (("web", 1), ("web", 100), ("api", 3)):
        record(warden, NOW - timedelta(days=days), project=project)
    save(warden, "per-project", scope="project", period="month", cost_usd="0.30")
    save(warden, "forever", period="total", cost_usd="0.60")
    assert spent(warden, "per-project", "project=web") == Decimal("0.20")
    assert spent(warden, "per-project", "project=api") == Decimal("0.20")
    assert spent(warden, "forever") == Decimal("0.60")
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call(input_tokens=10, max_tokens=10))  # $0.02 on a full total budget
    assert info.value.budget_id == "forever"


def test_rolling_budget_added_after_spend(make_warden: MakeWarden) -> None:
    clock = Clock(NOW)
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "other", "period": "day", "cost_usd": 9}]
    )
    record(warden, NOW - timedelta(hours=4))
    record(warden, NOW - timedelta(hours=6))  # outside a 5h window
    save(warden, "5h", period="rolling: 5h", cost_usd="0.30")
    assert spent(warden, "5h") == Decimal("0.20")
    with pytest.raises(BudgetExceeded):
        warden.admit(call())


def test_changed_definition_is_derived_again(make_warden: MakeWarden) -> None:
    clock = Clock(NOW)
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "other", "period": "day", "cost_usd": 9}]
    )
    save(warden, "b", scope="project", value="web", period="month", cost_usd="10")
    record(warden, NOW - timedelta(days=1), project="web")
    record(warden, NOW - timedelta(days=1), project="api")
    record(warden, NOW - timedelta(days=1), project="api")
    assert spent(warden, "b") == Decimal("0.20")
    save(warden, "b", scope="project", value="api", period="month", cost_usd="10")  # the filter changed
    assert spent(warden, "b") == Decimal("0.40")
    save(warden, "b", scope="project", value="api", period="day", cost_usd="10")  # the period changed
    assert spent(warden, "b") == Decimal(0)
    save(warden, "b", scope="global", period="total", cost_usd="0.70")  # scope and limit changed
    assert spent(warden, "b") == Decimal("0.60")
    with pytest.raises(BudgetExceeded):
        warden.admit(call())


def test_config_budget_added_later(budget_backend: str, make_warden: MakeWarden) -> None:
    if budget_backend == "memory":
        pytest.skip("an in-memory ledger does not outlive its Warden")
    clock = Clock(NOW)
    first = make_warden(clock=clock, pricing=PRICING)
    record(first, NOW - timedelta(days=1))
    record(first, NOW - timedelta(days=2))
    first.close()
    budgets = [{"id": "m", "period": "month", "cost_usd": "0.50"}]
    second = make_warden(clock=clock, pricing=PRICING, budgets=budgets)
    assert spent(second, "m") == Decimal("0.40")
    with pytest.raises(BudgetExceeded):
        second.admit(call())


def test_derivation_is_once_per_key(make_warden: MakeWarden, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(NOW)
    warden = make_warden(
        clock=clock,
        pricing=PRICING,
        budgets=[{"id": "m", "scope": "project", "period": "month", "cost_usd": 9}],
    )
    ledger = warden.ledger
    ledger.append(
        warden.price(
            UsageEvent.create(
                provider="cloud",
                model="big",
                input_tokens=100,
                occurred_at=NOW - timedelta(days=1),
                project="web",
            )
        )
    )
    engine_of(warden).rebuild()  # counters current (Redis: after the fixture's flush); nothing derived yet
    reads: list[EventQuery] = []
    events, totals = ledger.events, ledger.totals

    def counting_events(query: EventQuery, **options: Any) -> Any:
        reads.append(query)
        return events(query, **options)

    def counting_totals(query: EventQuery, group_by: Any = ()) -> Any:
        reads.append(query)
        return totals(query, group_by)

    monkeypatch.setattr(ledger, "events", counting_events)
    monkeypatch.setattr(ledger, "totals", counting_totals)
    record(warden, NOW - timedelta(hours=1))
    assert (
        len(reads) == 1
    )  # the first event recorded derived the month's counters (its thresholds start there)
    for _ in range(5):
        with warden.guard(call(input_tokens=1, max_tokens=1, attribution=Attribution(project="web"))) as held:
            warden.settle(held, Usage(input_tokens=1, output_tokens=1), occurred_at=clock.at)
    assert len(reads) == 1  # admissions did not read again
    warden.admit(call(input_tokens=1, max_tokens=1, attribution=Attribution(project="api")))
    assert len(reads) == 1  # one derivation covers every scope value of the period
    clock.set(datetime(2026, 12, 1, tzinfo=UTC))
    warden.admit(call(input_tokens=1, max_tokens=1, attribution=Attribution(project="api")))
    assert len(reads) == 2  # a new period is derived once more


def test_concurrent_derivation_counts_each_event_once(budget_backend: str, make_warden: MakeWarden) -> None:
    """Several engines (as several processes would) derive the same new budget at once while others
    record into it: afterwards the counter equals the ledger, nothing missed, nothing counted twice."""
    if budget_backend == "memory":
        pytest.skip("one in-memory ledger has one engine")
    clock = Clock(NOW)
    before = make_warden(clock=clock, pricing=PRICING)
    for i in range(20):
        record(before, NOW - timedelta(hours=i + 1))
    before.close()
    budgets = [{"id": "m", "period": "month", "cost_usd": "1000"}]
    wardens = [make_warden(clock=clock, pricing=PRICING, budgets=budgets) for _ in range(6)]
    start = threading.Barrier(len(wardens))
    errors: list[BaseException] = []

    def write(warden: Warden, n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                record(warden, NOW - timedelta(minutes=n * 100 + i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def admit(warden: Warden) -> None:
        try:
            start.wait()
            for _ in range(5):
                warden.release(warden.admit(call(input_tokens=1, max_tokens=1)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w, n)) for n, w in enumerate(wardens[:3])]
    threads += [threading.Thread(target=admit, args=(w,)) for w in wardens[3:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    total = sum(to_units(e.cost_total) for e in wardens[0].ledger.events(EventQuery()))
    assert total == 65 * to_units(Decimal("0.20"))
    engine = engine_of(wardens[3])
    month = engine.window(engine.policies.policies[0], NOW.timestamp()).key
    state = engine.store.counters("m")[f"m||{month}"]
    assert (state.spent.cost, state.reserved.cost) == (total, 0)


def _thresholds(warden: Warden) -> list[tuple[str, str | None, str]]:
    records = engine_of(warden).records
    assert records is not None
    return sorted((a.scope, a.threshold, a.period_key) for a in records.alerts(kinds=["threshold"]))


def test_a_budget_added_past_its_thresholds_alerts_them_once(make_warden: MakeWarden) -> None:
    """The thresholds a budget's period is already past when it is added (or derived again) alert at its
    first derivation, once; those it crosses later alert as they are crossed."""
    clock = Clock(NOW)
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "all", "period": "day", "cost_usd": 1000}]
    )
    for _ in range(4):  # $0.80 on web, $0.20 on api
        record(warden, NOW - timedelta(hours=1))
    record(warden, NOW - timedelta(hours=1), project="api")
    received: list[AlertRecord] = []
    warden.on_alert(received.append)
    save(warden, "monthly", scope="project", period="month", cost_usd="1", thresholds=[25, 50, 75, 100])
    record(warden, NOW, project="api", model="small")  # $0.02: api at 22 %, under 25 %
    got = [(a.scope, a.threshold) for a in received if a.kind == "threshold"]
    assert sorted(got) == [("project=web", "25"), ("project=web", "50"), ("project=web", "75")]
    month = "m:2026-11-01T00:00"
    assert _thresholds(warden) == [("project=web", t, month) for t in ("25", "50", "75")]
    record(warden, NOW, project="api")  # $0.42: crosses 25 %
    record(warden, NOW, project="web")  # $1.00: crosses 100 %
    assert _thresholds(warden) == sorted(
        [("project=api", "25", month), *[("project=web", t, month) for t in ("25", "50", "75", "100")]]
    )
    engine_of(warden).rebuild()  # derived again: nothing new to say
    warden.release(
        warden.admit(
            call(model="small", input_tokens=1, max_tokens=1, attribution=Attribution(project="api"))
        )
    )
    assert len(_thresholds(warden)) == 5
