"""Migrations: a blank database reaches the schema of `schema.py`, old ones upgrade, newer ones refuse."""

from __future__ import annotations

import importlib
import multiprocessing
import pkgutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, inspect, text

import costwarden.storage as storage_package
from costwarden.core.usage import UsageEvent
from costwarden.errors import LedgerError
from costwarden.storage.codec import ROW_COLUMNS, encode_event, to_micros
from costwarden.storage.sql import schema
from costwarden.storage.sql.engine import create_ledger_engine
from costwarden.storage.sql.ledger import SqlLedger, open_ledger
from costwarden.storage.sql.migrations import MIGRATIONS, m0001_events
from costwarden.storage.sql.rollup_store import RollupStore

DAY = timedelta(days=1)
T0 = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
OLD_COLUMNS = ROW_COLUMNS[: ROW_COLUMNS.index("recorded_at") + 1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))


def shape(conn: Connection, table: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Columns, primary key and indexes (name -> columns) of a table as the database reports them."""
    inspector = inspect(conn)
    columns = [c["name"] for c in inspector.get_columns(table)]
    primary = list(inspector.get_pk_constraint(table)["constrained_columns"])
    indexes = {
        str(ix["name"]): [str(c) for c in ix["column_names"]]
        for ix in inspector.get_indexes(table)
        if not ix.get("duplicates_constraint")  # PostgreSQL lists a UNIQUE constraint's index too
    }
    return columns, primary, indexes


def expected_shape(table_name: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    table = schema.metadata.tables[table_name]
    indexes = {str(ix.name): [c.name for c in ix.columns] for ix in table.indexes}
    return [c.name for c in table.columns], [c.name for c in table.primary_key.columns], indexes


def declare_every_table() -> set[str]:
    """Storage modules declare their tables on `schema.metadata` when imported: import them all (not the
    frozen migrations) and return the tables the code expects."""
    for info in pkgutil.walk_packages(storage_package.__path__, f"{storage_package.__name__}."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
    return set(schema.metadata.tables)


def test_blank_database_reaches_the_schema(db_url: str) -> None:
    expected = declare_every_table()
    assert len(expected) >= 14
    with open_ledger(db_url) as ledger:
        assert ledger.applied_migrations() == [m.NAME for m in MIGRATIONS]
        assert ledger.pending_migrations() == []
        with ledger.read() as conn:
            assert set(inspect(conn).get_table_names()) == expected
            for name in sorted(expected):
                assert shape(conn, name) == expected_shape(name), name
        assert ledger.upgrade() == []


def test_migrations_are_listed_once_under_their_module_name() -> None:
    names = [m.NAME for m in MIGRATIONS]
    assert len(set(names)) == len(names)
    assert names == sorted(names)
    for migration in MIGRATIONS:
        module = importlib.import_module(f"costwarden.storage.sql.migrations.{migration.NAME}")
        assert module is migration


def _add_budget_note(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE events ADD COLUMN note TEXT")
    conn.exec_driver_sql("CREATE INDEX ix_events_note ON events (note)")


M9002 = SimpleNamespace(NAME="m9002_note", upgrade=_add_budget_note)


def test_older_database_upgrades(db_url: str, make_event: object) -> None:
    # the events a release wrote (its codec is this one) survive the next release's migration
    with open_ledger(db_url) as old:
        event = make_event()  # type: ignore[operator]
        old.append(event)
    newer = SqlLedger(create_ledger_engine(db_url), migrations=[*MIGRATIONS, M9002])
    try:
        assert newer.pending_migrations() == ["m9002_note"]
        assert newer.upgrade() == ["m9002_note"]
        assert newer.upgrade() == []
        assert newer.applied_migrations() == [*(m.NAME for m in MIGRATIONS), "m9002_note"]
        with newer.read() as conn:
            columns, _, indexes = shape(conn, "events")
        assert "note" in columns and "ix_events_note" in indexes
        assert newer.get(event.id) == event
    finally:
        newer.close()


def test_database_from_a_newer_version_is_refused(db_url: str) -> None:
    open_ledger(db_url, migrations=[m0001_events, M9002]).close()
    with pytest.raises(LedgerError, match=r"newer costwarden.*m9002_note"):
        open_ledger(db_url, migrations=[m0001_events])
    with pytest.raises(LedgerError, match="newer costwarden"):
        open_ledger(db_url, create=False, migrations=[m0001_events])


def _broken(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE TABLE half_done (x INTEGER)")
    raise RuntimeError("boom")


def test_failed_migration_leaves_nothing_behind(db_url: str) -> None:
    broken = SimpleNamespace(NAME="m9003_broken", upgrade=_broken)
    with pytest.raises(LedgerError, match="m9003_broken failed: boom"):
        open_ledger(db_url, migrations=[m0001_events, broken])
    with open_ledger(db_url, create=False, migrations=[m0001_events, broken]) as ledger:
        assert ledger.applied_migrations() == ["m0001_events"]
        assert ledger.pending_migrations() == ["m9003_broken"]
        with ledger.read() as conn:
            assert "half_done" not in inspect(conn).get_table_names()


def test_duplicate_names_are_refused(sqlite_url: str) -> None:
    with pytest.raises(LedgerError, match="twice"):
        open_ledger(sqlite_url, migrations=[m0001_events, m0001_events])


def test_create_false_does_not_create(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "none.db"
    with pytest.raises(LedgerError, match="no ledger database"):
        open_ledger(f"sqlite:///{path}", create=False)
    assert not path.exists()
    with open_ledger(str(path)) as ledger:  # a plain path; create=True makes the directory
        assert ledger.pending_migrations() == []
    with open_ledger(f"sqlite:///{path}", create=False) as ledger:
        assert ledger.applied_migrations() == [m.NAME for m in MIGRATIONS]


def test_open_without_upgrading(sqlite_url: str) -> None:
    with open_ledger(sqlite_url, upgrade=False) as ledger:  # what `costwarden db upgrade` does
        assert ledger.applied_migrations() == []
        assert ledger.upgrade() == [m.NAME for m in MIGRATIONS]


def _open_and_count(url: str) -> list[str]:
    with open_ledger(url) as ledger:
        return ledger.applied_migrations()


@pytest.mark.slow
def test_racing_upgrades_apply_each_migration_once(db_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.map(_open_and_count, [db_url] * 4)
    assert all(r == [m.NAME for m in MIGRATIONS] for r in results)
    with open_ledger(db_url, create=False) as ledger, ledger.read() as conn:
        rows = conn.execute(text("SELECT name FROM costwarden_migrations")).scalars().all()
    assert sorted(rows) == sorted(m.NAME for m in MIGRATIONS)


def _plan(conn: Connection, sql: str) -> str:
    if conn.dialect.name == "sqlite":
        return " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return " ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))


@pytest.fixture
def planned(db_url: str) -> Iterator[SqlLedger]:
    with open_ledger(db_url) as ledger:
        yield ledger


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ("occurred_at >= 1 AND occurred_at < 2", "ix_events_occurred_at"),
        ("project = 'p' AND occurred_at >= 1 AND occurred_at < 2", "ix_events_project_occurred_at"),
        ("agent = 'a' AND occurred_at >= 1", "ix_events_agent_occurred_at"),
        ("session = 's'", "ix_events_session"),
        ("model = 'm'", "ix_events_model"),
    ],
)
def test_queries_use_the_indexes(planned: SqlLedger, where: str, index: str) -> None:
    with planned.read() as conn:
        plan = _plan(conn, f"SELECT sum(cost_units) FROM events WHERE {where}")
    # PostgreSQL's choice between fitting indexes on an empty table is arbitrary; SQLite's is not.
    assert (index if planned.dialect == "sqlite" else "using ix_events_") in plan
    assert "Seq Scan" not in plan and "SCAN events" not in plan


def test_budget_derivations_table_matches_the_store(db_url: str) -> None:
    import costwarden.storage.sql.budget_store  # noqa: F401 - declares the budget tables on the schema

    with open_ledger(db_url) as ledger, ledger.read() as conn:
        assert shape(conn, "budget_derivations") == expected_shape("budget_derivations")


def _old_row(event: UsageEvent) -> tuple[object, ...]:
    """A row as a costwarden before m0007 wrote it: the names as given, no `given_*` columns."""
    return encode_event(event, 1)[: len(OLD_COLUMNS)]


def test_upgrade_gives_old_rows_and_folded_rollups_their_canonical_names(
    db_url: str, make_event: Callable[..., UsageEvent]
) -> None:
    before_m0007 = list(MIGRATIONS[: [m.NAME for m in MIGRATIONS].index("m0007_canonical_names")])
    old_events = [
        make_event(id="old-1", provider="claude", model="claude-sonnet-4-5-20250929", cost="1"),
        make_event(id="old-2", provider="anthropic", model="claude-sonnet-4-5", cost="2"),
        make_event(id="old-3", provider="Anthropic", model="claude-sonnet-4-5-20250929", cost="4"),
        make_event(id="old-4", provider="acme", model="acme-1", cost="8"),
        # folded by retention below: kept only as rollups
        make_event(id="old-5", provider="claude", model="claude-sonnet-4-5", cost="16", occurred_at=T0 - DAY),
    ]
    columns = ", ".join([*OLD_COLUMNS, "revision"])
    marks = ", ".join(["?" if "sqlite" in db_url else "%s"] * len(OLD_COLUMNS))
    with open_ledger(db_url, migrations=before_m0007) as old, old.write() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for event in old_events:
            cursor.execute(f"INSERT INTO events ({columns}) VALUES ({marks}, 1)", _old_row(event))
        conn.exec_driver_sql(
            f"INSERT INTO rollup_state (id, events_before) VALUES (1, {to_micros(T0 - DAY / 2)})"
        )
        conn.exec_driver_sql("DELETE FROM events WHERE id = 'old-5'")
    with open_ledger(db_url) as ledger:
        got = {e.id: (e.provider, e.model, e.given_provider, e.given_model) for e in ledger.events()}
        assert got == {
            "old-1": ("anthropic", "claude-sonnet-4-5", "claude", "claude-sonnet-4-5-20250929"),
            "old-2": ("anthropic", "claude-sonnet-4-5", None, None),
            "old-3": ("anthropic", "claude-sonnet-4-5", "Anthropic", "claude-sonnet-4-5-20250929"),
            "old-4": ("acme", "acme-1", None, None),
        }
        store = RollupStore(ledger.engine)
        utc = ZoneInfo("UTC")
        by_provider = store.totals(None, None, {}, ["provider"], utc)
        assert sorted((r.key, r.cost) for r in by_provider) == [
            (("acme",), Decimal(8)),
            (("anthropic",), Decimal(23)),
        ]
        by_model = store.totals(None, None, {}, ["model", "session"], utc)  # the detailed table
        assert sorted((r.key, r.cost) for r in by_model) == [
            (("acme-1", None), Decimal(8)),
            (("claude-sonnet-4-5", None), Decimal(23)),
        ]
        given = ledger.totals(group_by=["given_model"])
        assert sorted((r.key, r.cost) for r in given) == [
            (("acme-1",), Decimal(8)),
            (("claude-sonnet-4-5",), Decimal(2)),
            (("claude-sonnet-4-5-20250929",), Decimal(5)),
        ]


def test_upgrade_counts_the_events_stored_before_the_retention_cut(
    db_url: str, make_event: Callable[..., UsageEvent]
) -> None:
    """Before m0010 the triggers left out an event dated before `events_before` (one recorded after
    `maintain`): the upgrade adds those to their hourly rows, and from then on the triggers count them."""
    before_m0010 = list(MIGRATIONS[: [m.NAME for m in MIGRATIONS].index("m0011_late_events")])
    cut = T0 - DAY / 2
    with open_ledger(db_url, migrations=before_m0010) as old:
        old.append(make_event(id="kept", cost="1"))
        with old.write() as conn:
            conn.exec_driver_sql(f"INSERT INTO rollup_state (id, events_before) VALUES (1, {to_micros(cut)})")
        old.append(make_event(id="late-1", cost="2", occurred_at=T0 - DAY))
        old.append(make_event(id="late-2", cost="4", occurred_at=T0 - DAY, project="other"))
        assert sum(r.cost for r in RollupStore(old.engine).totals(None, None, {}, [], ZoneInfo("UTC"))) == 1
    with open_ledger(db_url) as ledger:
        store = RollupStore(ledger.engine)
        utc = ZoneInfo("UTC")
        for group_by in ([], ["project"], ["session"]):  # both tables
            assert sum(r.cost for r in store.totals(None, None, {}, group_by, utc)) == Decimal(7)
        ledger.append(make_event(id="late-3", cost="8", occurred_at=T0 - 2 * DAY))
        with ledger.write() as conn:
            conn.exec_driver_sql("UPDATE events SET cost_units = cost_units * 2 WHERE id = 'late-1'")
        assert sum(r.cost for r in store.totals(None, None, {}, ["session"], utc)) == Decimal(17)
        assert sum(r.cost for r in store.totals(None, None, {}, [], utc)) == Decimal(17)
        assert store.verify() == []


def test_a_sessions_rollup_totals_use_the_session_index(planned: SqlLedger) -> None:
    """The statement the rollup store runs for one session's totals over all time reads that session's
    rows, not every rollup row of the ledger's history."""
    from sqlalchemy import event

    statements: list[tuple[str, object]] = []

    def keep(conn: object, cursor: object, sql: str, params: object, context: object, many: bool) -> None:
        if "FROM rollups" in sql:
            statements.append((sql, params))

    engine = planned.engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        RollupStore(engine).totals(
            datetime(1970, 1, 1, tzinfo=UTC), T0, {"session": "s-1"}, (), ZoneInfo("UTC")
        )
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    ((sql, params),) = statements
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()  # type: ignore[arg-type]
            plan = " ".join(str(r[-1]) for r in rows)
            assert "ix_rollups_session" in plan, plan
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {sql}", params).all()  # type: ignore[arg-type]
            plan = " ".join(str(r[0]) for r in rows)
            assert "ix_rollups_session" in plan, plan
