"""The rollup tables stay in step with the events (inserts, replaced snapshots, batches), are backfilled when
a database gains them, and a report range is split between rollups and events correctly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from costwarden.config import RetentionConfig
from costwarden.core.usage import UsageEvent
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.retention import apply_retention
from costwarden.reports.rollups import Segment, plan_segments
from costwarden.storage.codec import ROW_COLUMNS, encode_batch
from costwarden.storage.ledger import EventQuery
from costwarden.storage.rollups import Coverage, NotResolvable
from costwarden.storage.sql.ledger import SqlLedger, open_ledger
from costwarden.storage.sql.migrations import m0001_events
from costwarden.storage.sql.rollup_store import SUMS, RollupStore, rollup_totals, rollups, table_for

from .history import NOW, latest, make_history, oracle, snapshots

UTC_TZ = ZoneInfo("UTC")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")


def _grouped(store: RollupStore, keys: tuple[str, ...]) -> list[object]:
    return store.totals(None, None, {}, keys, UTC_TZ)  # type: ignore[return-value]


def test_both_tables_follow_inserts_and_snapshots(url: str) -> None:
    history = make_history(count=600, days=60)
    later = snapshots(history)
    with open_ledger(url) as ledger:
        ledger.append_many(history[:300])
        for event in history[300:330]:
            ledger.append(event)
        ledger.append_many(history[330:])
        ledger.append_many(later[:20])
        for event in later[20:]:
            ledger.append(event)
        store = RollupStore(ledger.engine)
        assert store.verify() == []
        truth = latest([*history, *later])
        # the narrow table answers the common groupings, the wide one everything else; both exact
        assert table_for(("project", "model", "user", "status")) is rollup_totals
        assert table_for(("session", "model")) is rollups and table_for(("tag:team",)) is rollups
        assert _grouped(store, ("project", "model")) == oracle(truth, ("project", "model"))
        assert _grouped(store, ("agent", "user")) == oracle(truth, ("agent", "user"))
        assert _grouped(store, ("session", "tag:team")) == oracle(truth, ("session", "tag:team"))
        assert store.totals(None, None, {"project": None}, ("model",), UTC_TZ) == oracle(
            truth, ("model",), where={"project": None}
        )


def _forget_rollup_totals(ledger: SqlLedger) -> None:
    """Make the database look as if it had folded its rollups before `rollup_totals` existed."""
    with ledger.write() as conn:
        for trigger in ("rollup_totals_event_insert", "rollup_totals_event_update"):
            on = " ON events" if conn.dialect.name == "postgresql" else ""
            conn.exec_driver_sql(f"DROP TRIGGER {trigger}{on}")
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP FUNCTION costwarden_rollup_totals_insert()")
            conn.exec_driver_sql("DROP FUNCTION costwarden_rollup_totals_update()")
        conn.exec_driver_sql("DROP TABLE rollup_totals")
        conn.exec_driver_sql("DELETE FROM costwarden_migrations WHERE name = 'm0005_rollup_totals'")


def _append_m0001_rows(ledger: SqlLedger, events: list[UsageEvent]) -> None:
    """Store events as a release of m0001's time did: only the columns m0001 created."""
    columns = ROW_COLUMNS[: ROW_COLUMNS.index("recorded_at") + 1]
    mark = "?" if ledger.dialect == "sqlite" else "%s"
    sql = (
        f"INSERT INTO events ({', '.join(columns)}, revision) VALUES ({', '.join([mark] * len(columns))}, 1)"
    )
    rows = [row[: len(columns)] for row in encode_batch(events, 1)]
    with ledger.write() as conn:
        conn.connection.driver_connection.cursor().executemany(sql, rows)  # type: ignore[union-attr]


def test_a_database_gains_rollups_with_its_events_and_folded_days(url: str) -> None:
    history = make_history(count=500, days=200)
    with open_ledger(url, migrations=[m0001_events]) as old:
        _append_m0001_rows(old, history)  # written before any rollup existed
    with open_ledger(url) as ledger:  # m0004 backfills from the events, m0005 from the rollups
        store = RollupStore(ledger.engine)
        assert store.verify() == []
        aggregator = Aggregator(ledger, UTC_TZ, store)
        assert aggregator.totals(EventQuery(), ("project", "month")) == oracle(history, ("project", "month"))
        apply_retention(store, RetentionConfig(detailed_days=30, daily_days=90), now=NOW, tz=UTC_TZ)
        before = aggregator.totals(EventQuery(), ("project", "month"))
        assert before == oracle(history, ("project", "month"))
        _forget_rollup_totals(ledger)
        assert ledger.upgrade() == ["m0005_rollup_totals"]
        assert set(store.stats(rollup_totals)) == {"hour", "day", "month"}
        assert aggregator.totals(EventQuery(), ("project", "month")) == before
        assert store.verify() == []


def test_rebuild_repairs_both_tables(url: str) -> None:
    history = make_history(count=300, days=20)
    with open_ledger(url) as ledger:
        ledger.append_many(history)
        store = RollupStore(ledger.engine)
        with ledger.write() as conn:
            conn.execute(rollup_totals.delete().where(rollup_totals.c.model == "gpt-5"))
            conn.execute(rollups.update().values(cost_units=rollups.c.cost_units + 1))
        assert len(store.verify()) > 0
        assert store.rebuild() > 0
        assert store.verify() == []
        assert _grouped(store, ("model",)) == oracle(history, ("model",))


def test_rebuild_writes_the_rows_the_triggers_wrote(url: str) -> None:
    """Row for row, key for key: the live rebuild statements build the hourly rows (tags, snapshots,
    unpriced and failed calls included) exactly as the triggers did, so later appends add to the same rows."""
    history = make_history(count=400, days=10)
    with open_ledger(url) as ledger:
        ledger.append_many(history)
        ledger.append_many(snapshots(history)[:50])
        store = RollupStore(ledger.engine)

        def rows() -> dict[str, list[tuple[object, ...]]]:
            """Every row that holds a sum (a snapshot that moved away leaves a row of zeros behind)."""
            with ledger.write() as conn:
                return {
                    t.name: sorted(tuple(r) for r in conn.execute(t.select()) if any(r[-len(SUMS) :]))
                    for t in (rollups, rollup_totals)
                }

        written = rows()
        assert all(written.values())
        store.rebuild()
        assert rows() == written
        ledger.append_many(history[:10])  # the same events again: nothing changes
        assert rows() == written


def test_plan_segments() -> None:
    at = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
    nothing = Coverage(events_before=None)
    whole = plan_segments(at.replace(minute=0), at.replace(minute=0) + timedelta(days=1), nothing)
    assert [s.source for s in whole] == ["rollups"]
    split = plan_segments(at, at + timedelta(days=1), nothing)
    hour = at.replace(minute=0)
    assert split == [
        Segment(at, hour + timedelta(hours=1), "events"),
        Segment(hour + timedelta(hours=1), hour + timedelta(days=1), "rollups"),
        Segment(hour + timedelta(days=1), at + timedelta(days=1), "events"),
    ]
    inside = plan_segments(at, at + timedelta(minutes=20), nothing)
    assert [s.source for s in inside] == ["events"]
    cut = Coverage(events_before=datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(NotResolvable):
        plan_segments(datetime(2026, 10, 3, 12, 30, tzinfo=UTC), None, cut)
    assert [s.source for s in plan_segments(datetime(2026, 10, 3, tzinfo=UTC), None, cut)] == ["rollups"]
