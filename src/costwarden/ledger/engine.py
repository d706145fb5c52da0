"""Engines for the ledger database: URLs, SQLite settings, and the read and write transactions.

SQLite: every connection gets WAL, a 30 s busy timeout, `synchronous=NORMAL` and foreign keys. The sqlite3
driver's own transaction handling is switched off and SQLAlchemy's "begin" event emits `BEGIN IMMEDIATE`,
so a write transaction takes the write lock up front (waiting up to the busy timeout) instead of failing
with "database is locked" when it first writes. That is what makes several processes on one file safe.
Read transactions (`read_transaction`) begin DEFERRED and never wait for writers.

PostgreSQL goes through psycopg 3 (`postgresql+psycopg://`); transactions are ordinary ones.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from costwarden.errors import ConfigError, LedgerError, MissingExtraError

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "BEGIN_OPTION",
    "ledger_url",
    "sqlite_path",
    "create_ledger_engine",
    "write_transaction",
    "read_transaction",
]

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# Execution option naming how a SQLite transaction begins: "IMMEDIATE" (the default), "DEFERRED", "EXCLUSIVE".
BEGIN_OPTION: Final = "costwarden_sqlite_begin"
_BEGIN_MODES: Final = frozenset({"IMMEDIATE", "DEFERRED", "EXCLUSIVE"})
_PG_SCHEMES: Final = frozenset({"postgresql", "postgres", "postgresql+psycopg"})


def ledger_url(url: str) -> URL:
    """Parse a ledger URL: `sqlite:///path.db`, a plain file path, or `postgresql://...` (psycopg 3)."""
    text = str(url).strip()
    if not text:
        raise ConfigError("the ledger URL is empty", key="database")
    if "://" not in text:
        if text == ":memory:":
            return make_url("sqlite://")
        return URL.create("sqlite", database=str(Path(text).expanduser().absolute()))
    scheme = text.split("://", 1)[0].lower()
    try:
        if scheme in _PG_SCHEMES:
            return make_url("postgresql+psycopg://" + text.split("://", 1)[1])
        if scheme in ("sqlite", "sqlite+pysqlite"):
            return make_url(text)
    except ArgumentError as exc:
        raise ConfigError(f"cannot parse ledger URL: {exc}", key="database") from None
    raise ConfigError(
        f"unsupported ledger URL scheme {scheme!r}; use sqlite:///PATH, a file path or postgresql://...",
        key="database",
    )


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for an in-memory database)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query.get("uri"):
        return None
    return Path(database)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")).upper()
    if mode not in _BEGIN_MODES:
        raise LedgerError(f"unknown SQLite transaction mode {mode!r}; use one of {sorted(_BEGIN_MODES)}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def create_ledger_engine(
    url: str | URL, *, create: bool = True, engine_options: Mapping[str, Any] | None = None
) -> Engine:
    """An engine for the ledger at `url`.

    With `create=False` a missing SQLite file is an error instead of being created (with its directory).
    Raises `MissingExtraError` when a PostgreSQL URL is given and psycopg is not installed.
    """
    parsed = url if isinstance(url, URL) else ledger_url(url)
    options: dict[str, Any] = dict(engine_options or {})
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if importlib.util.find_spec("psycopg") is None:
            raise MissingExtraError("psycopg", "postgres")
        return create_engine(parsed, **options)
    if backend != "sqlite":
        raise ConfigError(f"unsupported ledger database {backend!r}", key="database")
    path = sqlite_path(parsed)
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if path is None:
        # One shared connection, else every pooled connection would see its own empty database.
        options.setdefault("poolclass", StaticPool)
        connect_args["check_same_thread"] = False
    elif create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise LedgerError(f"no ledger database at {path}; run `costwarden db upgrade` to create it")
    connect_args.update(options.pop("connect_args", {}))
    engine = create_engine(parsed, connect_args=connect_args, **options)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction: `BEGIN IMMEDIATE` on SQLite. Commits on success."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction (one consistent snapshot): `BEGIN DEFERRED` on SQLite."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
        with conn.begin():
            yield conn
