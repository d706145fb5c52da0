"""Budget storage, store by store: all-or-nothing reservations, settle, release, expiry, termination,
rebuild; the feed and budgets set from the CLI; the migrated schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import inspect

from costwarden.core.admission import Amounts, Need, counter_key
from costwarden.core.periods import Period, Window
from costwarden.core.policy import Action, Applied, Limits, Policy
from costwarden.core.usage import CostBreakdown, CostSource, UsageEvent
from costwarden.ledger import MemoryLedger
from costwarden.storage.budgets import AlertRecord, Hold, Reservation, SavedBudget, Spend
from costwarden.storage.memory.budget_store import MemoryBudgetStore
from costwarden.storage.sql.budget_store import SqlBudgetStore
from costwarden.storage.sql.ledger import open_ledger

WINDOW = Window("d:2026-11-23T00:00", None, None, ("d:2026-11-23T00:00",))


def policy(budget_id: str, action: Action = Action.BLOCK) -> Policy:
    return Policy(
        id=budget_id,
        name=None,
        scope="global",
        period=Period.parse("day"),
        per=(),
        match=(),
        limits=Limits(),
        overrides={},
        thresholds=(),
        action=action,
        queue_timeout=1.0,
        fallback=(),
        fallback_order="listed",
        concurrency="calls",
        notice=None,
    )


def need(budget_id: str, cost_limit: int, cost: int, action: Action = Action.BLOCK) -> Need:
    key = counter_key(budget_id, "", WINDOW.key)
    applied = Applied(policy(budget_id, action), "", Limits(cost=cost_limit))
    return Need(applied, key, (key,), WINDOW, Amounts(cost=cost, tokens=10, requests=1))


def reservation(rid: str, needs: list[Need], deadline: float = 4e9) -> Reservation:
    return Reservation(
        rid, tuple(Hold(n.key, n.amounts) for n in needs), deadline, os.getpid(), "host", label="p/m"
    )


def event(eid: str, cost: str, output_tokens: int = 10) -> UsageEvent:
    base = UsageEvent.create(
        id=eid,
        provider="p",
        model="m",
        output_tokens=output_tokens,
        occurred_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
    )
    return base.with_cost(CostBreakdown(Decimal(cost), CostSource.COMPUTED))


def spends_on(*budget_ids: str) -> Any:
    def spends_for(ev: UsageEvent, previous: UsageEvent | None) -> list[Spend]:
        out = []
        for sign, item in ((1, ev), (-1, previous)):
            if item is None:
                continue
            amounts = Amounts(sign * int(item.cost_total * 10**10), sign * item.usage.total_tokens, sign)
            out += [Spend(counter_key(b, "", WINDOW.key), amounts) for b in budget_ids]
        return out

    return spends_for


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryBudgetStore(MemoryLedger())
        return
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    ledger = open_ledger(url)
    if request.param == "redis":
        from costwarden.storage.redis.counters import RedisCounterStore

        redis_store = RedisCounterStore(request.getfixturevalue("redis_server"), ledger)
        redis_store.flush()
        redis_store.rebuild([], dict)  # counters current: nothing to recount
        yield redis_store
        redis_store.flush()
        redis_store.close()
    else:
        sql_store = SqlBudgetStore(ledger)
        yield sql_store
        sql_store.close()
    ledger.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def records(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryBudgetStore()
        return
    ledger = open_ledger(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))
    yield SqlBudgetStore(ledger)
    ledger.close()


def cost(store: Any, budget_id: str) -> tuple[int, int]:
    state = store.states([counter_key(budget_id, "", WINDOW.key)]).get(counter_key(budget_id, "", WINDOW.key))
    return (state.spent.cost, state.reserved.cost) if state else (0, 0)


def test_reserve_is_all_or_nothing(store: Any) -> None:
    fits, too_big = need("a", 100, 60), need("b", 50, 60)
    result = store.reserve(reservation("r1", [fits, too_big]), [fits, too_big])
    assert not result.ok
    assert [(s.need.applied.policy.id, s.dimension, s.limit, s.requested) for s in result.shortfalls] == [
        ("b", "cost", 50, 60)
    ]
    assert cost(store, "a") == (0, 0) and cost(store, "b") == (0, 0)
    assert store.reservations() == []
    assert store.reserve(reservation("r2", [fits]), [fits]).ok
    assert cost(store, "a") == (0, 60)
    again = need("a", 100, 60)
    assert not store.reserve(reservation("r3", [again]), [again]).ok  # 60 reserved + 60 > 100
    [held] = store.reservations()
    assert (held.id, held.label, held.pid) == ("r2", "p/m", os.getpid())


def test_warn_only_needs_never_refuse(store: Any) -> None:
    soft = need("w", 10, 60, Action.WARN)
    result = store.reserve(reservation("r1", [soft]), [soft])
    assert result.ok and [s.need.applied.policy.id for s in result.over] == ["w"]
    assert cost(store, "w") == (0, 60)


def test_settle_moves_the_reservation_to_spent_once(store: Any) -> None:
    n = need("a", 10**12, 500_000_000)
    assert store.reserve(reservation("r1", [n]), [n]).ok
    counted = store.settle("r1", [event("e1", "0.03")], spends_on("a"))
    assert [(c.spend.amounts.cost, c.before.cost) for c in counted] == [(300_000_000, 0)]
    assert cost(store, "a") == (300_000_000, 0)
    assert store.reservations() == []
    assert store.settle(None, [event("e1", "0.03")], spends_on("a")) == []  # the same event again: nothing
    counted = store.settle(None, [event("e1", "0.05", output_tokens=20)], spends_on("a"))  # a newer snapshot
    assert sum(c.spend.amounts.cost for c in counted) == 200_000_000
    assert cost(store, "a") == (500_000_000, 0)
    assert store.settle(None, [event("e2", "0.01"), event("e3", "0.01")], spends_on("a"))
    assert cost(store, "a") == (700_000_000, 0)


def test_settling_a_duplicate_still_releases(store: Any) -> None:
    store.settle(None, [event("e1", "0.03")], spends_on("a"))
    n = need("a", 10**12, 500_000_000)
    assert store.reserve(reservation("r1", [n]), [n]).ok
    assert store.settle("r1", [event("e1", "0.03")], spends_on("a")) == []
    assert cost(store, "a") == (300_000_000, 0)


def test_release_reclaim_and_terminate(store: Any) -> None:
    n = need("a", 1000, 100)
    assert store.reserve(reservation("live", [n], deadline=2e9), [n]).ok
    assert store.reserve(reservation("dead", [n], deadline=1e9), [n]).ok
    assert cost(store, "a") == (0, 200)
    assert store.held("dead") and store.held("live")  # expired is still held until reclaimed
    assert store.reclaim(1.5e9) == 1
    assert [r.id for r in store.reservations()] == ["live"]
    assert not store.held("dead") and not store.held("never")
    assert store.release("live") is True
    assert store.release("live") is False
    assert not store.held("live")
    assert cost(store, "a") == (0, 0)
    store.terminate(n.key)
    result = store.reserve(reservation("r", [n]), [n])
    assert not result.ok and result.shortfalls[0].terminated


def test_rebuild_replaces_spent_and_keeps_reserved(store: Any) -> None:
    store.settle(None, [event("e1", "0.03")], spends_on("a", "b"))
    n = need("a", 10**12, 7)
    assert store.reserve(reservation("r", [n]), [n]).ok
    written = store.rebuild(["a", "b"], lambda: {n.key: Amounts(cost=42, tokens=1, requests=1)})
    assert written == 1
    assert cost(store, "a") == (42, 7)
    assert cost(store, "b") == (0, 0)
    assert set(store.counters("a")) == {n.key}


def test_forget_drops_what_was_derived_for_some_budgets_only(store: Any) -> None:
    def derived(amount: int) -> Any:
        return lambda periods: {counter_key("a", "", p): Amounts(cost=amount) for p in periods}

    assert store.derived_budgets() == set()
    assert store.derive("a", "f1", [WINDOW.key], derived(5)) == 1
    assert store.derive("b", "f1", [WINDOW.key], lambda periods: {}) == 1
    assert store.derived_budgets() == {"a", "b"}
    store.forget(["a", "nosuch"])
    store.forget([])
    assert store.derived_budgets() == {"b"}
    assert store.underived("a", "f1", [WINDOW.key]) == [WINDOW.key]  # derived again when next needed
    assert store.underived("b", "f1", [WINDOW.key]) == []
    assert cost(store, "a") == (5, 0)  # the counters stay until then
    assert store.derive("a", "f1", [WINDOW.key], derived(8)) == 1
    assert cost(store, "a") == (8, 0)


def test_threshold_alerts_are_recorded_once_and_exhaustions_every_time(records: Any) -> None:
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    alert = AlertRecord(
        kind="threshold",
        at=at,
        budget_id="d",
        scope="global",
        period_key="d:1",
        dimension="cost",
        level="warning",
        message="80%",
        threshold="80",
        limit=10,
        spent=8,
    )
    first = records.add_alert(alert)
    assert first is not None and first.id is not None
    assert records.add_alert(alert) is None
    block = AlertRecord(
        kind="block",
        at=at,
        budget_id="d",
        scope="global",
        period_key="d:1",
        dimension="cost",
        level="critical",
        message="refused",
        details={"model": "m"},
        resets_at=at,
    )
    assert records.add_alert(block) is not None and records.add_alert(block) is not None
    feed = records.alerts()
    assert [a.kind for a in feed] == ["block", "block", "threshold"]
    assert feed[0].details == {"model": "m"} and feed[0].resets_at == at
    assert [a.kind for a in records.alerts(kinds=["threshold"])] == ["threshold"]
    assert records.alerts(budget_id="other") == []
    assert len(records.alerts(limit=1)) == 1


def test_saved_budgets_and_their_version(records: Any) -> None:
    before = records.budgets_version()
    records.save_budget(SavedBudget("daily", {"period": "day", "cost_usd": "10"}))
    after = records.budgets_version()
    assert after != before
    assert [(b.id, dict(b.definition)) for b in records.saved_budgets()] == [
        ("daily", {"period": "day", "cost_usd": "10"})
    ]
    records.save_budget(SavedBudget("daily", {"period": "day", "cost_usd": "12"}))
    assert records.saved_budgets()[0].definition["cost_usd"] == "12"
    assert records.remove_budget("daily") is True
    assert records.remove_budget("daily") is False
    assert records.saved_budgets() == [] and records.budgets_version() != after


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_creates_the_budget_tables(backend: str, request: pytest.FixtureRequest) -> None:
    from costwarden.storage.sql import budget_store

    with open_ledger(request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url")) as ledger:
        assert "m0002_budgets" in ledger.applied_migrations()
        with ledger.read() as conn:
            inspector = inspect(conn)
            for table in (
                budget_store.budget_counters,
                budget_store.budget_reservations,
                budget_store.budget_alerts,
                budget_store.budget_definitions,
                budget_store.budget_meta,
            ):
                columns = [c["name"] for c in inspector.get_columns(table.name)]
                assert columns == [c.name for c in table.columns], table.name
                primary = inspector.get_pk_constraint(table.name)["constrained_columns"]
                assert primary == [c.name for c in table.primary_key.columns], table.name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest) -> Iterator[SqlBudgetStore]:
    ledger = open_ledger(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))
    made = SqlBudgetStore(ledger)
    yield made
    made.close()
    ledger.close()


def test_recorded_reservations_count_on_the_sql_counters_once_they_decide(sql_store: SqlBudgetStore) -> None:
    """The journal of reservations held in Redis: recorded rows are listed but not counted until
    `count_recorded` (a Redis outage); dropping a row takes its holds off only where they were counted."""
    first, second = need("a", 100, 30), need("a", 100, 20)
    sql_store.record(reservation("r1", [first]))
    assert [r.id for r in sql_store.reservations()] == ["r1"]
    assert cost(sql_store, "a") == (0, 0)  # held in Redis, not on the SQL counters
    assert sql_store.count_recorded() == 1
    assert sql_store.count_recorded() == 0  # once
    assert cost(sql_store, "a") == (0, 30)
    sql_store.record(reservation("r2", [second]))  # recorded after the SQL counters took over
    assert sql_store.release("r2")  # never counted here: nothing to take off
    assert cost(sql_store, "a") == (0, 30)
    assert not sql_store.reserve(reservation("r3", [need("a", 100, 80)]), [need("a", 100, 80)]).ok
    sql_store.settle("r1", [event("e1", "0.000000002")], spends_on("a"))  # 20 units
    assert cost(sql_store, "a") == (20, 0)
    assert sql_store.reservations() == []
    sql_store.record(reservation("r4", [first], deadline=10.0))
    sql_store.record(reservation("r5", [second], deadline=10.0))
    assert sql_store.count_recorded() == 2
    sql_store.record(reservation("r6", [first], deadline=10.0))
    assert cost(sql_store, "a") == (20, 50)
    assert sql_store.reclaim(11.0) == 3  # the counted ones come off the counters, the recorded one goes
    assert cost(sql_store, "a") == (20, 0)
    assert sql_store.reservations() == []
