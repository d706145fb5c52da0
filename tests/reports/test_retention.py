"""Retention folds detail into daily and monthly totals without changing any report total."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from costwarden.config import RetentionConfig
from costwarden.core.usage import UsageEvent
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.periods import local_midnight, month_start, named_period, next_month_start
from costwarden.reports.retention import apply_retention, plan_retention
from costwarden.storage.ledger import AppendOutcome, EventQuery
from costwarden.storage.rollups import NotResolvable
from costwarden.storage.sql.ledger import SqlLedger, open_ledger
from costwarden.storage.sql.rollup_store import RollupStore

from .history import NOW, make_history, oracle, priced, snapshots

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_ledger(request: pytest.FixtureRequest) -> Iterator[SqlLedger]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    ledger = open_ledger(url)
    try:
        yield ledger
    finally:
        ledger.close()


def _periods(tz: ZoneInfo) -> list[tuple[datetime | None, datetime | None]]:
    """Named periods, every month of the history, every day of the last 14 months, and all time."""
    out: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    for name in ("today", "yesterday", "this-week", "this-month", "last-30-days"):
        p = named_period(name, NOW, tz)
        out.append((p.start, p.end))
    month = month_start(NOW.astimezone(tz).date() - timedelta(days=440))
    while month <= NOW.astimezone(tz).date():
        out.append((local_midnight(month, tz), local_midnight(next_month_start(month), tz)))
        month = next_month_start(month)
    today = NOW.astimezone(tz).date()
    day = today - timedelta(days=330)
    while day <= today:
        out.append((local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)))
        day += timedelta(days=1 if (today - day).days < 100 else 5)
    return out


def _all_totals(aggregator: Aggregator, tz: ZoneInfo) -> dict[tuple[object, ...], object]:
    out: dict[tuple[object, ...], object] = {}
    for start, end in _periods(tz):
        query = EventQuery(start=start, end=end)
        for group_by in ((), ("project", "model"), ("agent",), ("session",), ("tag:team",)):
            try:
                out[(start, end, group_by)] = aggregator.totals(query, group_by)
            except NotResolvable:
                out[(start, end, group_by)] = "not resolvable"
    return out


def test_retention_changes_no_total(sql_ledger: SqlLedger) -> None:
    history = make_history(count=2500, days=560)
    sql_ledger.append_many(history)
    later = snapshots(history)
    sql_ledger.append_many(later)
    truth = {e.id: e for e in history}
    for event in later:
        if event.snapshot_key() > truth[event.id].snapshot_key():
            truth[event.id] = event
    store = RollupStore(sql_ledger.engine)
    aggregator = Aggregator(sql_ledger, BERLIN, store)
    before = _all_totals(aggregator, BERLIN)
    assert "not resolvable" not in before.values()
    config = RetentionConfig(detailed_days=90, daily_days=365, monthly_days=None)

    dry = apply_retention(store, config, now=NOW, tz=BERLIN, dry_run=True)
    assert dry.events_deleted > 0 and dry.hourly_folded > 0 and dry.daily_folded > 0
    assert store.coverage().events_before is None
    assert sql_ledger.totals()[0].events == len(truth)

    done = apply_retention(store, config, now=NOW, tz=BERLIN)
    assert (done.events_deleted, done.hourly_folded, done.daily_folded) == (
        dry.events_deleted,
        dry.hourly_folded,
        dry.daily_folded,
    )
    horizon = store.coverage().events_before
    assert horizon == local_midnight(date(2026, 8, 25), BERLIN)
    assert sql_ledger.totals()[0].events == sum(1 for e in truth.values() if e.occurred_at >= horizon)
    stats = store.stats()
    assert set(stats) == {"hour", "day", "month"}

    after = _all_totals(aggregator, BERLIN)
    assert after == before  # every period, every grouping, to the last unit
    for (start, end, group_by), rows in after.items():
        if group_by in ((), ("project", "model")):
            assert rows == oracle(truth.values(), group_by, BERLIN, start, end), (start, end, group_by)

    # a second run has nothing left to do; a range cutting a folded day is refused, not guessed
    again = apply_retention(store, config, now=NOW, tz=BERLIN)
    assert (again.events_deleted, again.hourly_folded, again.daily_folded) == (0, 0, 0)
    with pytest.raises(NotResolvable):
        aggregator.totals(EventQuery(start=horizon - timedelta(hours=5), end=NOW))
    with pytest.raises(NotResolvable):
        aggregator.totals(EventQuery(start=horizon - timedelta(days=3)), ("hour",))


def test_a_late_event_before_the_horizon_counts_once(sql_ledger: SqlLedger) -> None:
    """An event recorded after `maintain` with a time before its cut counts in every total at once, and
    still once after the next `maintain` folds it (and deletes it). Re-imports of logs already summarized
    are kept out by the importers, which refuse events before the horizon (tests/faults)."""
    history = make_history(count=400, days=200)
    sql_ledger.append_many(history)
    store = RollupStore(sql_ledger.engine)
    utc = ZoneInfo("UTC")
    aggregator = Aggregator(sql_ledger, utc, store)
    config = RetentionConfig(detailed_days=30, daily_days=90)
    apply_retention(store, config, now=NOW, tz=utc)
    horizon = store.coverage().events_before
    assert horizon is not None
    before = aggregator.total()
    at = NOW - timedelta(days=60, hours=3)  # a day folded into daily rows
    late = priced(UsageEvent.create(provider="openai", model="gpt-5", id="late", occurred_at=at), 12345)
    sql_ledger.append(late)
    day = (local_midnight(at.date(), utc), local_midnight(at.date() + timedelta(days=1), utc))
    month = (local_midnight(month_start(at.date()), utc), local_midnight(next_month_start(at.date()), utc))

    def grew(start: datetime | None, end: datetime | None, group_by: tuple[str, ...] = ()) -> None:
        query = EventQuery(start=start, end=end)
        rows = {r.key: r for r in aggregator.totals(query, group_by)}
        truth = {r.key: r for r in oracle([*history, late], group_by, utc, start, end)}
        assert {k: (r.events, r.cost) for k, r in rows.items()} == {
            k: (r.events, r.cost) for k, r in truth.items()
        }, (start, end, group_by)

    assert aggregator.total().events == before.events + 1
    assert aggregator.total().cost == before.cost + late.cost_total
    for start, end in ((None, None), day, month):
        for group_by in ((), ("model",), ("session",)):
            grew(start, end, group_by)
    grew(*month, ("day",))
    assert store.verify() == []  # `maintain --check` agrees
    again = apply_retention(store, config, now=NOW, tz=utc)
    assert again.hourly_folded >= 1  # the late hour went into its day
    assert aggregator.total().events == before.events + 1
    for group_by in ((), ("model",), ("day",)):
        grew(*day, group_by)
    assert store.verify() == []
    assert store.rebuild() >= 0
    assert aggregator.total().events == before.events + 1
    # a day later the cut moves on: the late event is deleted, its sum lives on in its day
    later = apply_retention(store, config, now=NOW + timedelta(days=1), tz=utc)
    assert later.events_deleted >= 1 and sql_ledger.get("late") is None
    grew(*day)
    assert aggregator.total().events == before.events + 1


def test_an_id_retention_deleted_stays_one_event(sql_ledger: SqlLedger) -> None:
    """Retention keeps the ids of the events it deletes: the same id appended again (one by one, in a batch,
    a later snapshot) is an event already stored, on every write path, until monthly retention drops its
    history."""
    utc = ZoneInfo("UTC")
    store = RollupStore(sql_ledger.engine)
    aggregator = Aggregator(sql_ledger, utc, store)
    at = NOW - timedelta(days=60)

    def event(event_id: str, cost: int, tokens: int = 10) -> UsageEvent:
        made = UsageEvent.create(
            provider="openai", model="gpt-5", id=event_id, occurred_at=at, input_tokens=tokens
        )
        return priced(made, cost)

    sql_ledger.append_many([event("a", 100), event("b", 200)])
    config = RetentionConfig(detailed_days=30, daily_days=90, monthly_days=400)
    assert apply_retention(store, config, now=NOW, tz=utc).events_deleted == 2
    assert sql_ledger.append(event("a", 100)) is AppendOutcome.UNCHANGED
    assert sql_ledger.append(event("a", 500, tokens=99)) is AppendOutcome.UNCHANGED  # a later snapshot
    assert sql_ledger.append_many([event("b", 200), event("c", 300), event("a", 100)]) == 1
    assert sql_ledger.get("a") is None and sql_ledger.get("b") is None
    assert (aggregator.total().events, aggregator.total().cost) == (3, Decimal(600) / 10**10)
    with sql_ledger.engine.connect() as conn:
        retired = conn.execute(text("SELECT id FROM retired_events ORDER BY id")).scalars().all()
    assert retired == ["a", "b"]
    later = apply_retention(store, config, now=NOW + timedelta(days=400), tz=utc)  # the month is dropped
    assert later.rows_dropped >= 1
    with sql_ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM retired_events")).scalar() == 0


def test_monthly_retention_forgets_old_months(sql_ledger: SqlLedger) -> None:
    history = make_history(count=400, days=500)
    sql_ledger.append_many(history)
    store = RollupStore(sql_ledger.engine)
    result = apply_retention(
        store, RetentionConfig(detailed_days=30, daily_days=60, monthly_days=120), now=NOW, tz=ZoneInfo("UTC")
    )
    assert result.rows_dropped > 0
    cut = result.plan.drop_before
    assert cut is not None
    aggregator = Aggregator(sql_ledger, ZoneInfo("UTC"), store)
    assert aggregator.total(EventQuery(start=cut)) == oracle(history, start=cut)[0]
    assert aggregator.total(EventQuery(end=cut)).events == 0


def test_plan_never_folds_days_that_still_have_events() -> None:
    plan = plan_retention(RetentionConfig(detailed_days=400, daily_days=30), NOW, "UTC")
    assert plan.events_before is not None and plan.months_before is not None
    assert plan.months_before <= plan.events_before
    assert plan.months_before.day == 1
    keep = plan_retention(RetentionConfig(detailed_days=None, daily_days=30), NOW, "UTC")
    assert keep.events_before is None and keep.months_before is None


def test_a_timezone_without_whole_hour_midnights_folds_in_utc(sql_ledger: SqlLedger) -> None:
    history = make_history(count=300, days=120)
    sql_ledger.append_many(history)
    store = RollupStore(sql_ledger.engine)
    kolkata = ZoneInfo("Asia/Kolkata")
    result = apply_retention(store, RetentionConfig(detailed_days=30), now=NOW, tz=kolkata)
    assert result.plan.timezone == "UTC" and result.notes
    utc = Aggregator(sql_ledger, ZoneInfo("UTC"), store)
    assert utc.totals(EventQuery(), ("day",)) == oracle(history, ("day",))
    assert Aggregator(sql_ledger, kolkata, store).total() == oracle(history)[0]
