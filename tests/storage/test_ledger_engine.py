"""Engines: URLs, SQLite settings, immediate write transactions, errors, nothing built at import."""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from costwarden.core.usage import UsageEvent
from costwarden.errors import ConfigError, LedgerError, MissingExtraError
from costwarden.storage.sql.engine import create_ledger_engine, ledger_url
from costwarden.storage.sql.ledger import SqlLedger, open_ledger

MakeEvent = Callable[..., UsageEvent]


def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert ledger_url("ledger.db").database == str(tmp_path / "ledger.db")
    assert ledger_url("~/x/l.db").database == str(Path.home() / "x" / "l.db")
    assert ledger_url("sqlite:////abs/l.db").database == "/abs/l.db"
    assert ledger_url(":memory:").drivername == "sqlite"
    for url in ("postgresql://u@h:5/db", "postgres://u@h:5/db", "postgresql+psycopg://u@h:5/db"):
        parsed = ledger_url(url)
        assert (parsed.drivername, parsed.host, parsed.port, parsed.database) == (
            "postgresql+psycopg",
            "h",
            5,
            "db",
        )
    with pytest.raises(ConfigError, match="mysql"):
        ledger_url("mysql://h/db")
    with pytest.raises(ConfigError, match="empty"):
        ledger_url("  ")


def test_postgres_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "psycopg" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingExtraError, match=r"costwarden\[postgres\]") as info:
        open_ledger("postgresql://nobody@127.0.0.1:1/none")
    assert (info.value.package, info.value.extra) == ("psycopg", "postgres")


def test_in_memory_sqlite(make_event: MakeEvent) -> None:
    with open_ledger(":memory:") as ledger:
        event = make_event()
        ledger.append(event)
        assert ledger.get(event.id) == event
        assert ledger.dialect == "sqlite"


def test_sqlite_connection_settings(sqlite_url: str) -> None:
    with open_ledger(sqlite_url) as ledger, ledger.read() as conn:

        def pragma(name: str) -> Any:
            return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 30_000
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("foreign_keys") == 1


def test_write_takes_the_lock_up_front_and_reads_do_not(sqlite_url: str, make_event: MakeEvent) -> None:
    with open_ledger(sqlite_url) as ledger:
        path = ledger.engine.url.database
        assert path is not None
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with ledger.write() as conn:
                conn.exec_driver_sql("SELECT 1")  # no write yet, the lock is already held
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            with ledger.read() as conn:
                assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
                other.execute("BEGIN IMMEDIATE")  # a reader never holds writers back
                other.execute("CREATE TABLE side (x INTEGER)")
                other.execute("COMMIT")
                assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
        finally:
            other.close()
        ledger.append(make_event())


def test_other_stores_share_the_transactions(ledger_sql: SqlLedger, make_event: MakeEvent) -> None:
    with ledger_sql.write() as conn:
        conn.execute(text("CREATE TABLE notes (id VARCHAR(20) PRIMARY KEY, body TEXT)"))
    with pytest.raises(RuntimeError), ledger_sql.write() as conn:
        conn.execute(text("INSERT INTO notes VALUES ('a', 'rolled back')"))
        raise RuntimeError("abort")
    with ledger_sql.write() as conn:
        conn.execute(text("INSERT INTO notes VALUES ('b', 'kept')"))
    with ledger_sql.read() as conn:
        assert conn.execute(text("SELECT id FROM notes")).scalars().all() == ["b"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_sql(request: pytest.FixtureRequest) -> Any:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    with open_ledger(url) as ledger:
        yield ledger


def test_storage_failures_are_ledger_errors(ledger_sql: SqlLedger, make_event: MakeEvent) -> None:
    with ledger_sql.write() as conn:
        conn.execute(
            text("DROP TABLE events CASCADE" if ledger_sql.dialect == "postgresql" else "DROP TABLE events")
        )
    calls: list[Callable[[], object]] = [
        lambda: ledger_sql.append(make_event()),
        lambda: ledger_sql.append_many([make_event(), make_event()]),
        ledger_sql.totals,
        lambda: list(ledger_sql.events()),
        lambda: ledger_sql.get("x"),
        ledger_sql.models_seen,
    ]
    for call in calls:
        with pytest.raises(LedgerError, match=r"ledger \w+ failed"):
            call()


def test_write_hooks_see_written_and_replaced_rows(ledger_sql: SqlLedger, make_event: MakeEvent) -> None:
    calls: list[tuple[list[str], list[tuple[str, int]]]] = []

    def hook(conn: Any, written: Any, replaced: Any) -> None:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() >= len(written)
        calls.append(([r[0] for r in written], [(r[0], r[12]) for r in replaced]))

    ledger_sql.add_write_hook(hook)
    a = make_event(id="a", output_tokens=1, tags={"z": "1", "b": "2", "aa": "3"})
    assert ledger_sql.append(a).value == "inserted"
    assert ledger_sql.append(a).value == "unchanged"
    bigger = make_event(id="a", output_tokens=5, tags={"z": "1", "b": "2", "aa": "3"})
    assert ledger_sql.append(bigger).value == "replaced"
    batch = [make_event(id="a", output_tokens=9), make_event(id="b"), make_event(id="c")]
    assert ledger_sql.append_many(batch) == 3
    assert ledger_sql.append_many(batch) == 0
    assert calls[:2] == [(["a"], []), (["a"], [("a", 101)])]
    assert len(calls) == 3
    assert sorted(calls[2][0]) == ["a", "b", "c"]  # PostgreSQL reports new ids before replacements
    assert calls[2][1] == [("a", 105)]
    ledger_sql.remove_write_hook(hook)

    def failing(conn: Any, written: Any, replaced: Any) -> None:
        raise RuntimeError("hook failed")

    ledger_sql.add_write_hook(failing)
    with pytest.raises(RuntimeError, match="hook failed"):
        ledger_sql.append_many([make_event(id="d")])
    assert ledger_sql.get("d") is None


def test_replaced_rows_carry_canonical_tags(ledger_sql: SqlLedger, make_event: MakeEvent) -> None:
    seen: list[Any] = []
    ledger_sql.add_write_hook(lambda conn, written, replaced: seen.extend(replaced))
    tags = {"zeta": "1", "b": "2", "alpha": "\u00e9"}
    ledger_sql.append(make_event(id="t", output_tokens=1, tags=tags))
    ledger_sql.append(make_event(id="t", output_tokens=2, tags=tags))
    assert seen[0][21] == '{"alpha":"\u00e9","b":"2","zeta":"1"}'


def test_importing_builds_nothing() -> None:
    code = (
        "import sys, costwarden.ledger as l; "
        "print('sqlalchemy' in sys.modules); import costwarden.storage.sql.ledger as s; "
        "print('psycopg' in sys.modules); print(l.open_ledger is s.open_ledger)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True"]


def test_engine_options_pass_through(sqlite_url: str) -> None:
    engine = create_ledger_engine(sqlite_url, engine_options={"pool_size": 2, "connect_args": {"timeout": 1}})
    try:
        assert engine.pool.size() == 2  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_hooks_see_a_concurrent_replacement(pg_url: str, make_event: MakeEvent) -> None:
    """A writer that replaces the row while our append waits for it: the hook gets the version it
    actually replaced (the statement is retried), not the one its snapshot saw first."""
    import threading

    import psycopg

    with open_ledger(pg_url) as ledger:
        seen: list[tuple[int, ...]] = []
        ledger.add_write_hook(lambda conn, written, replaced: seen.append(tuple(r[12] for r in replaced)))
        ledger.append(make_event(id="x", output_tokens=1))  # 101 tokens
        server = pg_url.split("?", maxsplit=1)[0]
        schema = pg_url.split("search_path%3D")[1]
        with psycopg.connect(server) as other:
            other.execute(f'SET search_path = "{schema}"')
            other.execute("UPDATE events SET total_tokens = 150, revision = revision + 1 WHERE id = 'x'")
            done = threading.Event()
            worker = threading.Thread(
                target=lambda: (ledger.append(make_event(id="x", output_tokens=400)), done.set())
            )
            worker.start()
            assert not done.wait(0.5)  # blocked on the row lock
            other.commit()
            worker.join(10)
        assert done.is_set()
        assert seen == [(), (150,)]
        stored = ledger.get("x")
        assert stored is not None and stored.usage.output_tokens == 400


def test_a_snapshot_answers_every_read_from_one_moment(ledger_sql: SqlLedger, make_event: MakeEvent) -> None:
    ledger_sql.append(make_event(id="first"))
    with open_ledger(str(ledger_sql.engine.url.render_as_string(hide_password=False))) as other:
        with ledger_sql.snapshot():
            assert ledger_sql.totals()[0].events == 1
            other.append(make_event(id="second"))  # committed by another process meanwhile
            assert ledger_sql.totals()[0].events == 1
            assert [e.id for e in ledger_sql.events()] == ["first"]
            with ledger_sql.snapshot():  # nested: the same snapshot
                assert ledger_sql.get("second") is None
        assert ledger_sql.totals()[0].events == 2  # outside: the latest
        with ledger_sql.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 2
