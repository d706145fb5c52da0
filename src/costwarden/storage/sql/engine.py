"""Engines for the ledger database: URLs, SQLite settings, and the read and write transactions.

SQLite: every connection gets WAL, a 30 s busy timeout, `synchronous=NORMAL` and foreign keys. The sqlite3
driver's own transaction handling is switched off and SQLAlchemy's "begin" event emits `BEGIN IMMEDIATE`,
so a write transaction takes the write lock up front (waiting up to the busy timeout) instead of failing
with "database is locked" when it first writes. That is what makes several processes on one file safe.
Read transactions (`read_transaction`) begin DEFERRED and never wait for writers.

WAL checkpoints run off the commit path: a background thread per engine (`WalCheckpointer`) runs a PASSIVE
checkpoint whenever the WAL changed, every `CHECKPOINT_INTERVAL` seconds, so no commit pays for copying
pages back into the database (and its fsync). Connections keep `wal_autocheckpoint` as a safety net only,
at `SQLITE_AUTOCHECKPOINT_PAGES`, for when the thread falls behind or is not running (a forked child that
reuses its parent's connections). Under a steady stream of writes a PASSIVE checkpoint cannot start the
WAL over (a writer is always appending), so the WAL still grows to the safety-net size and the commit that
crosses it checkpoints; by then the thread has copied nearly every frame, so that commit has little left
to do. Durability is unchanged: WAL + `synchronous=NORMAL`.

PostgreSQL goes through psycopg 3 (`postgresql+psycopg://`). Write transactions are READ COMMITTED; read
transactions are REPEATABLE READ, so every statement of one sees the same snapshot (a total and its
breakdown read under concurrent appends agree).

`snapshot(engine)` pins one read transaction for a whole report: every `read_transaction` on that engine in
the same context (thread or task) joins it instead of beginning its own, so a report that asks several
questions (totals, by project, by model, the rollups' coverage) answers them all from one snapshot.
`unpinned()` lifts the pin for work that must read the latest commits (deriving budget counters).
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from costwarden.errors import ConfigError, LedgerError, MissingExtraError
from costwarden.forking import after_fork_in_child, fork_gate

__all__ = [
    "create_private_file",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_AUTOCHECKPOINT_PAGES",
    "CHECKPOINT_INTERVAL",
    "WalCheckpointer",
    "checkpointer_of",
    "BEGIN_OPTION",
    "ledger_url",
    "sqlite_path",
    "create_ledger_engine",
    "write_transaction",
    "hold_appends",
    "read_transaction",
    "snapshot",
    "unpinned",
]

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
SQLITE_AUTOCHECKPOINT_PAGES: Final = 10_000
"""A commit checkpoints itself only when the WAL passed this many pages (the background thread keeps it
far below)."""
CHECKPOINT_INTERVAL: Final = 0.25
"""Seconds between the background thread's looks at the WAL."""
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


def _set_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode = WAL`, which SQLite answers "database is locked" at once (no busy handler) while
    another connection creates or migrates a new file: tried again until the busy timeout."""
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    gate = fork_gate()
    gate.enter()  # a new connection's first statements: not across a fork either
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}")
    finally:
        cursor.close()
        gate.exit()


class WalCheckpointer:
    """Checkpoints one SQLite file's WAL from a daemon thread (started on the engine's first connection,
    again in a forked child), so commits do not. It holds the engine weakly and ends with it, or on
    `stop()` (`SqlLedger.close`)."""

    def __init__(self, path: Path, interval: float = CHECKPOINT_INTERVAL) -> None:
        self.path = path
        self.wal = Path(f"{path}-wal")
        self.interval = interval
        self.checkpoints = 0
        self._pid = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        after_fork_in_child(self)

    def after_fork_in_child(self) -> None:
        """The parent's thread is not in the child: the next connection starts the child's own."""
        self._lock = threading.Lock()
        self._thread = None

    def ensure(self, owner: object) -> None:
        """Start the thread for this process if it is not running (cheap when it is)."""
        if self._pid == os.getpid() or self._stop.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, args=(weakref.ref(owner),), name="costwarden-wal-checkpoint", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout=5)

    def _run(self, owner: weakref.ref[object]) -> None:
        seen = 0
        while not self._stop.wait(self.interval):
            if owner() is None:
                return
            try:
                changed = self.wal.stat().st_mtime_ns
            except OSError:
                continue  # no WAL (yet, or the file is gone)
            if changed != seen:
                seen = changed
                self.checkpoint()

    def checkpoint(self) -> bool:
        """One PASSIVE checkpoint (never waits for readers or writers); False when it could not run.
        A fork waits until it is done (see `costwarden.forking`)."""
        with fork_gate().held():
            return self._checkpoint()

    def _checkpoint(self) -> bool:
        try:
            conn = sqlite3.connect(
                f"{self.path.absolute().as_uri()}?mode=rw",
                uri=True,
                timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error:
            return False
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
            return True
        except sqlite3.Error:
            return False
        finally:
            conn.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")).upper()
    if mode not in _BEGIN_MODES:
        raise LedgerError(f"unknown SQLite transaction mode {mode!r}; use one of {sorted(_BEGIN_MODES)}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _make_private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents, each readable by its owner only (0700); existing folders
    keep their mode."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for item in reversed(missing):
        try:
            item.mkdir(mode=0o700)
        except FileExistsError:  # another process made it first
            continue
        item.chmod(0o700)  # the umask may have taken bits away, never added them: make it exact


def create_private_file(path: Path) -> None:
    """Create an empty SQLite file readable and writable by its owner only (0600), with 0700 folders, when
    it does not exist yet (SQLite gives its -wal and -shm files the same mode). An existing file is left
    as it is."""
    if path.exists():
        return
    _make_private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    path.chmod(0o600)


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
        pg_engine = create_engine(parsed, **options)
        after_fork_in_child(_PoolReset(pg_engine))
        return pg_engine
    if backend != "sqlite":
        raise ConfigError(f"unsupported ledger database {backend!r}", key="database")
    path = sqlite_path(parsed)
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if path is None:
        # One shared connection, else every pooled connection would see its own empty database.
        options.setdefault("poolclass", StaticPool)
        connect_args["check_same_thread"] = False
    elif create:
        create_private_file(path)
    elif not path.exists():
        raise LedgerError(f"no ledger database at {path}; run `costwarden db upgrade` to create it")
    connect_args.update(options.pop("connect_args", {}))
    engine = create_engine(parsed, connect_args=connect_args, **options)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    if path is not None:
        gate = fork_gate()
        event.listen(engine, "checkout", lambda *_: gate.enter())
        event.listen(engine, "checkin", lambda *_: gate.exit())
        after_fork_in_child(_PoolReset(engine))
        checkpointer = WalCheckpointer(path)
        engine_ref = weakref.ref(engine)

        def _start_checkpointer(_dbapi_connection: Any, _record: Any) -> None:
            current = engine_ref()
            if current is not None:
                checkpointer.ensure(current)

        event.listen(engine, "connect", _start_checkpointer)
        _CHECKPOINTERS[engine] = checkpointer
    return engine


_POOL_RESETS: weakref.WeakKeyDictionary[Engine, _PoolReset] = weakref.WeakKeyDictionary()


class _PoolReset:
    """In a forked child, forgets the pooled connections of the parent without closing them (they are the
    parent's), so the child opens its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)
        _POOL_RESETS[engine] = self  # lives as long as the engine

    def after_fork_in_child(self) -> None:
        engine = self._engine()
        if engine is not None:
            engine.dispose(close=False)


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()


def checkpointer_of(engine: Engine) -> WalCheckpointer | None:
    """The engine's background WAL checkpointer (None: not a SQLite file)."""
    return _CHECKPOINTERS.get(engine)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction: `BEGIN IMMEDIATE` on SQLite. Commits on success."""
    with engine.connect() as conn, conn.begin():
        yield conn


def hold_appends(conn: Connection, *tables: str) -> None:
    """Hold appends to `events` (and writes to `tables`) back until `conn`'s write transaction ends, while
    reads go on: on PostgreSQL a SHARE lock (appends take ROW EXCLUSIVE, which it excludes); on SQLite the
    write transaction already holds the database's one write lock."""
    if conn.dialect.name == "postgresql":
        for table in ("events", *tables):
            conn.exec_driver_sql(f"LOCK TABLE {table} IN SHARE MODE")


_PINNED: ContextVar[Mapping[Engine, Connection] | None] = ContextVar("costwarden_snapshot", default=None)


@contextmanager
def _begin_read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction (one consistent snapshot): `BEGIN DEFERRED` on SQLite (never
    waits for writers), REPEATABLE READ on PostgreSQL. Inside `snapshot(engine)` it is the pinned one."""
    pinned = _PINNED.get()
    if pinned is not None and engine in pinned:
        yield pinned[engine]
        return
    with _begin_read(engine) as conn:
        yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[None]:
    """Answer every read on `engine` inside this block (in this thread or task) from one read transaction.

    Nested blocks join the outer one. Writes are not affected (they run in their own transactions and are
    not seen by the pinned reads). An in-memory SQLite database (one shared connection) is not pinned.
    """
    pinned = _PINNED.get() or {}
    if engine in pinned or (engine.dialect.name == "sqlite" and sqlite_path(engine.url) is None):
        yield
        return
    with _begin_read(engine) as conn:
        token = _PINNED.set({**pinned, engine: conn})
        try:
            yield
        finally:
            _PINNED.reset(token)


@contextmanager
def unpinned() -> Iterator[None]:
    """Inside the block, reads begin their own transactions again (they see the latest commits), even
    within `snapshot(...)`: for work that must count everything committed, such as deriving budget
    counters under their lock while a report's snapshot is pinned."""
    token = _PINNED.set(None)
    try:
        yield
    finally:
        _PINNED.reset(token)
