"""The SQL ledger: SQLite (the default, one file) and PostgreSQL (shared by many hosts), one code path.

Appends are idempotent upserts: `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE` the new snapshot key
`(total_tokens, occurred_at)` is higher. `append_many` encodes every event first (so bad input writes
nothing), keeps the highest snapshot per id, then writes in one transaction: multi-row `executemany` on
SQLite, COPY into a temporary staging table and one `INSERT ... SELECT ... ON CONFLICT` on PostgreSQL.

Other stores share the engine and its transactions: `SqlLedger.write()` / `SqlLedger.read()`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any, Final

from sqlalchemy import Connection, Engine, Select, case, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from costwarden.core.money import from_units
from costwarden.core.usage import EventStatus, UsageEvent, event_key
from costwarden.errors import CostwardenError, LedgerError
from costwarden.storage.codec import (
    ROW_COLUMNS,
    Row,
    canonical_row,
    decode_row,
    encode_batch,
    encode_event,
    from_micros,
    newer,
    now_micros,
    to_micros,
)
from costwarden.storage.ledger import (
    ALL_EVENTS,
    AppendOutcome,
    EventQuery,
    ModelSeen,
    Totals,
    check_group_key,
    period_label,
    sort_totals,
    where_values,
)
from costwarden.storage.sql.engine import (
    checkpointer_of,
    create_ledger_engine,
    read_transaction,
    snapshot,
    unpinned,
    write_transaction,
)
from costwarden.storage.sql.migrate import Migration, applied_migrations, check_not_newer, pending_migrations
from costwarden.storage.sql.migrate import upgrade as run_migrations
from costwarden.storage.sql.schema import (
    DAY_US,
    HOUR_US,
    WriteStatements,
    events,
    field_column,
    month_label,
    tag_value,
    time_bucket,
)

__all__ = ["SqlLedger", "WriteHook", "RawWriteHook", "open_ledger"]

_SUMMED: Final = (
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
)
_UNPRICED: Final = "unpriced"
_STREAM_BATCH: Final = 2000
_SQLITE_ROWS_PER_STATEMENT: Final = 200
_TRACKED_ATTEMPTS: Final = 20


WriteHook = Callable[[Connection, Sequence[Row], Sequence[Row]], None]
"""Called in the write transaction of every append: `(conn, written, replaced)`. `written` holds the rows
now stored (new ids and higher snapshots), `replaced` the stored rows those snapshots replaced; both in
`codec.ROW_COLUMNS` order, tags as canonical JSON text. Not called when nothing changed."""

RawWriteHook = Callable[[Any, Sequence[Row], Sequence[Row]], None]
"""A `WriteHook` that takes the append's DBAPI cursor instead of a SQLAlchemy connection (statements in the
driver's placeholder style). With only raw hooks, appends skip SQLAlchemy's connection and transaction
objects: one pooled DBAPI connection, one transaction, as lean as an append without hooks."""


class _Interrupted(Exception):
    """A tracked write saw a concurrent change and must start over."""


def _dbapi_cursor(conn: Connection) -> Any:
    """A DBAPI cursor on the connection's driver connection (in its transaction)."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _blocks(rows: Sequence[Row], per: int) -> Iterator[tuple[Any, ...]]:
    for i in range(0, len(rows) - per + 1, per):
        yield tuple(itertools.chain.from_iterable(rows[i : i + per]))


class SqlLedger:
    """The `Ledger` on a SQLAlchemy engine (SQLite or PostgreSQL). Build it with `open_ledger(url)`.

    `migrations` defaults to `costwarden.storage.sql.migrations.MIGRATIONS`; pass another list only in tests.
    """

    def __init__(self, engine: Engine, *, migrations: Sequence[Migration] | None = None) -> None:
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise LedgerError(f"unsupported database {dialect!r}; use SQLite or PostgreSQL")
        if migrations is None:
            from costwarden.storage.sql.migrations import MIGRATIONS

            migrations = MIGRATIONS
        self._engine = engine
        self._dialect = dialect
        self._migrations = tuple(migrations)
        self._sql = WriteStatements(
            dialect, engine.dialect.identifier_preparer.quote, _SQLITE_ROWS_PER_STATEMENT
        )
        self._hooks: list[WriteHook] = []
        # A new id (the common case) is written without reading first; a stored one takes the full path.
        self._insert_new = (
            self._sql.upsert_row.partition(" ON CONFLICT")[0] + " ON CONFLICT (id) DO NOTHING RETURNING 1"
        )
        self._raw_hooks: list[RawWriteHook] = []

    # -- engine and transactions ---------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine; other stores run their SQL on it through `write()` / `read()`."""
        return self._engine

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._dialect

    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction (SQLite: `BEGIN IMMEDIATE`, waits up to the busy timeout). Commits on exit."""
        return write_transaction(self._engine)

    def read(self) -> AbstractContextManager[Connection]:
        """A read transaction: one consistent snapshot; on SQLite it never waits for writers."""
        return read_transaction(self._engine)

    def snapshot(self) -> AbstractContextManager[None]:
        """Answer every read inside the block (this thread) from one snapshot: `engine.snapshot`."""
        return snapshot(self._engine)

    @contextmanager
    def fresh(self) -> Iterator[None]:
        """Reads inside the block come from one new snapshot (the latest commits), also inside an outer
        `snapshot()`: for work that must count everything committed, such as deriving budget counters."""
        with unpinned(), snapshot(self._engine):
            yield

    def close(self) -> None:
        checkpointer = checkpointer_of(self._engine)
        if checkpointer is not None:
            checkpointer.stop()
        self._engine.dispose()

    def __enter__(self) -> SqlLedger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlLedger({self._engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def _failing(self, action: str) -> Iterator[None]:
        try:
            yield
        except CostwardenError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise LedgerError(f"ledger {action} failed: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("psycopg", "sqlite3")):  # raised by the raw COPY path
                raise LedgerError(f"ledger {action} failed: {exc}") from exc
            raise

    # -- migrations ----------------------------------------------------------------------------------

    def upgrade(self) -> list[str]:
        """Apply pending migrations; return the names applied (safe when processes race)."""
        with self._failing("upgrade"):
            return run_migrations(self._engine, self._migrations)

    def pending_migrations(self) -> list[str]:
        """Migrations not yet applied. Raises `LedgerError` if the database is newer than this code."""
        with self._failing("migration check"):
            return pending_migrations(self._engine, self._migrations)

    def applied_migrations(self) -> list[str]:
        with self._failing("migration check"), self.read() as conn:
            return applied_migrations(conn)

    def check_version(self) -> None:
        """Raise `LedgerError` if the database records migrations this code does not know."""
        check_not_newer(self.applied_migrations(), self._migrations)

    # -- writing -------------------------------------------------------------------------------------

    def add_write_hook(self, hook: WriteHook) -> None:
        """Run `hook(conn, written, replaced)` inside every append transaction (e.g. to keep rollups or
        counters in step with the events). An exception in a hook rolls the append back."""
        self._hooks.append(hook)

    def add_raw_write_hook(self, hook: RawWriteHook) -> None:
        """Run `hook(cursor, written, replaced)` inside every append transaction, on its DBAPI cursor."""
        self._raw_hooks.append(hook)

    def remove_write_hook(self, hook: WriteHook | RawWriteHook) -> None:
        if hook in self._raw_hooks:
            self._raw_hooks.remove(hook)
        else:
            self._hooks.remove(hook)

    def append(self, event: UsageEvent) -> AppendOutcome:
        """Store one event durably (its own transaction). See `Ledger.append`."""
        row = encode_event(event, now_micros())
        if not self._hooks and not self._raw_hooks:
            with self._failing("append"):
                revision = self._upsert_one(row)
            if revision is None:
                return AppendOutcome.UNCHANGED
            return AppendOutcome.INSERTED if revision == 1 else AppendOutcome.REPLACED
        with self._failing("append"):
            written, replaced = self._write_tracked([row])
        if not written:
            return AppendOutcome.UNCHANGED
        return AppendOutcome.REPLACED if replaced else AppendOutcome.INSERTED

    def append_many(self, events: Iterable[UsageEvent]) -> int:
        """Store a batch in one transaction; return how many ids were inserted or replaced."""
        rows = encode_batch(events, now_micros())
        if not rows:
            return 0
        with self._failing("append_many"):
            if self._hooks or self._raw_hooks:
                return len(self._write_tracked(rows)[0])
            with self.write() as conn:
                if self._dialect == "sqlite":
                    return self._sqlite_upsert(_dbapi_cursor(conn), rows)
                with self._pg_cursor(conn) as cursor:
                    self._pg_stage(cursor, rows)
                    cursor.execute(self._sql.stage_upsert)
                    return int(cursor.rowcount)

    def _upsert_one(self, row: Row) -> int | None:
        """The lean path of a single append: the pooled DBAPI connection, one statement, commit."""
        raw: Any = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self._dialect == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(self._sql.upsert_one, row)
            found = cursor.fetchone()
            cursor.close()
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        return None if found is None else int(found[0])

    def _run_hooks(self, conn: Connection, written: Sequence[Row], replaced: Sequence[Row]) -> None:
        if written:
            for hook in list(self._hooks):
                hook(conn, written, replaced)
            if self._raw_hooks:
                cursor = _dbapi_cursor(conn)
                try:
                    for raw_hook in list(self._raw_hooks):
                        raw_hook(cursor, written, replaced)
                finally:
                    cursor.close()

    def _sqlite_upsert(self, cursor: Any, rows: Sequence[Row]) -> int:
        """Upsert `rows` on a DBAPI cursor (closed afterwards)."""
        try:
            if len(rows) == 1:
                cursor.execute(self._sql.upsert_row, rows[0])
                return int(cursor.rowcount)
            whole = len(rows) - len(rows) % _SQLITE_ROWS_PER_STATEMENT
            changed = 0
            if whole:
                cursor.executemany(self._sql.upsert_block, _blocks(rows, _SQLITE_ROWS_PER_STATEMENT))
                changed += cursor.rowcount
            if whole < len(rows):
                cursor.executemany(self._sql.upsert_row, rows[whole:])
                changed += cursor.rowcount
            return int(changed)
        finally:
            cursor.close()

    @staticmethod
    def _pg_cursor(conn: Connection) -> Any:
        raw = conn.connection.driver_connection
        assert raw is not None
        return raw.cursor()

    def _pg_stage(self, cursor: Any, rows: Sequence[Row]) -> None:
        cursor.execute(self._sql.stage_ddl)
        with cursor.copy(self._sql.stage_copy) as copy:
            copy.set_types(self._sql.stage_types)
            for row in rows:
                copy.write_row(row)

    def _write_tracked(self, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
        """Write `rows` (distinct ids) and run the hooks in the same transaction with exactly what was
        written and what it replaced. Returns (written, replaced)."""
        for _ in range(_TRACKED_ATTEMPTS):
            try:
                if not self._hooks:
                    return self._write_tracked_raw(rows)
                with self.write() as conn:
                    cursor = _dbapi_cursor(conn)
                    if self._dialect == "sqlite":
                        written, replaced = self._write_tracked_sqlite(cursor, rows)
                    else:
                        written, replaced = self._write_tracked_pg(cursor, rows)
                    self._run_hooks(conn, written, replaced)
                return written, replaced
            except _Interrupted:
                continue  # rolled back: a concurrent writer changed a row we replaced
        raise LedgerError(
            f"events kept changing under concurrent writers; gave up after {_TRACKED_ATTEMPTS} tries"
        )

    def _write_tracked_raw(self, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
        """`_write_tracked` when every hook is raw: one pooled DBAPI connection and transaction."""
        raw: Any = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                if self._dialect == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                    written, replaced = self._write_tracked_sqlite(raw.cursor(), rows)
                else:
                    written, replaced = self._write_tracked_pg(raw.cursor(), rows)
                if written:
                    for hook in list(self._raw_hooks):
                        hook(cursor, written, replaced)
            finally:
                cursor.close()
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        return written, replaced

    def _write_tracked_sqlite(self, cursor: Any, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
        """On a DBAPI cursor (closed afterwards) in an IMMEDIATE transaction, which holds the write lock:
        a new id is inserted at once; otherwise read the stored versions, then write."""
        stored: dict[str, Row] = {}
        try:
            ids = [row[0] for row in rows]
            if len(ids) == 1:
                cursor.execute(self._insert_new, rows[0])
                if cursor.fetchall():
                    return list(rows), []
                cursor.execute(self._sql.select + "= ?", ids)
                found = cursor.fetchone()
                if found is not None:
                    stored[found[0]] = tuple(found)
            else:
                for i in range(0, len(ids), 500):
                    chunk = ids[i : i + 500]
                    cursor.execute(self._sql.select + f"IN ({', '.join('?' * len(chunk))})", chunk)
                    stored.update((found[0], tuple(found)) for found in cursor.fetchall())
            retired = self._retired(cursor, [i for i in ids if i not in stored])
            written = [
                row
                for row in rows
                if (row[0] not in stored and row[0] not in retired)
                or (row[0] in stored and newer(row, stored[row[0]]))
            ]
            if written:
                self._sqlite_upsert(cursor, written)
        finally:
            cursor.close()
        return written, [canonical_row(stored[row[0]]) for row in written if row[0] in stored]

    @staticmethod
    def _retired(cursor: Any, ids: Sequence[str]) -> set[str]:
        """Which of `ids` belong to events retention deleted (`retired_events`): the trigger of migration
        `m0014_retired_events` skips their inserts, so they are not written."""
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cursor.execute(
                f"SELECT id FROM retired_events WHERE id IN ({', '.join('?' * len(chunk))})", chunk
            )
            found.update(row[0] for row in cursor.fetchall())
        return found

    def _write_tracked_pg(self, cursor: Any, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
        """One upsert in id order (so concurrent batches cannot deadlock) that returns, per stored row,
        its new revision and the version the statement's snapshot saw. When a concurrent writer slipped
        in between (the revisions do not follow on), raise `_Interrupted`: the caller retries. The
        driver cursor is closed afterwards."""
        with cursor:
            if len(rows) == 1:
                cursor.execute(self._sql.upsert_one_tracked, rows[0])
            else:
                self._pg_stage(cursor, rows)
                cursor.execute(self._sql.stage_upsert_tracked)
            returned = cursor.fetchall()
        by_id = {row[0]: row for row in rows}
        written: list[Row] = []
        replaced: list[Row] = []
        for event_id, revision, before in returned:
            if before is None and revision == 1:
                written.append(by_id[event_id])
            elif before is not None and revision == int(before["revision"]) + 1:
                written.append(by_id[event_id])
                replaced.append(canonical_row([before[c] for c in ROW_COLUMNS]))
            else:
                raise _Interrupted
        return written, replaced

    # -- reading -------------------------------------------------------------------------------------

    def _conditions(self, query: EventQuery) -> list[Any]:
        conditions: list[Any] = []
        if query.start is not None:
            conditions.append(events.c.occurred_at >= to_micros(query.start))
        if query.end is not None:
            conditions.append(events.c.occurred_at < to_micros(query.end))
        for key, value in query.where.items():
            column = tag_value(self._dialect, key[4:]) if key.startswith("tag:") else field_column(key)
            matches = [column.is_(None) if v is None else column == v for v in where_values(value)]
            conditions.append(matches[0] if len(matches) == 1 else or_(*matches))
        return conditions

    def _group_expression(self, key: str) -> Any:
        if key == "hour":
            return time_bucket(HOUR_US)
        if key == "day":
            return time_bucket(DAY_US)
        if key == "month":
            return month_label(self._dialect)
        if key.startswith("tag:"):
            return tag_value(self._dialect, key[4:])
        return field_column(key)

    def get(self, event_id: str) -> UsageEvent | None:
        stmt = select(*(events.c[c] for c in ROW_COLUMNS)).where(events.c.id == event_key(event_id))
        with self._failing("read"), self.read() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else decode_row(row)

    def events(
        self, query: EventQuery = ALL_EVENTS, *, limit: int | None = None, newest_first: bool = False
    ) -> Iterator[UsageEvent]:
        """The events of `query` by `occurred_at` then id, streamed (a server-side cursor on PostgreSQL)."""
        order = (events.c.occurred_at, events.c.id)
        stmt: Select[Any] = (
            select(*(events.c[c] for c in ROW_COLUMNS))
            .where(*self._conditions(query))
            .order_by(*(c.desc() for c in order) if newest_first else order)
        )
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must not be negative, got {limit}")
            stmt = stmt.limit(limit)
        return self._stream(stmt)

    def _stream(self, stmt: Select[Any]) -> Iterator[UsageEvent]:
        if self._dialect == "postgresql":
            stmt = stmt.execution_options(yield_per=_STREAM_BATCH)
        with self._failing("read"), self.read() as conn:
            result = conn.execute(stmt)
            try:
                for row in result:
                    yield decode_row(row)
            finally:
                result.close()  # before the transaction ends, also when the stream is abandoned

    def totals(self, query: EventQuery = ALL_EVENTS, group_by: Sequence[str] = ()) -> list[Totals]:
        keys = [check_group_key(key) for key in group_by]
        labelled = [self._group_expression(key).label(f"k{i}") for i, key in enumerate(keys)]
        unpriced = events.c.cost_source == _UNPRICED
        stmt = select(
            *labelled,
            func.count(),
            *(func.sum(events.c[name]) for name in _SUMMED),
            func.sum(events.c.cost_units),
            func.sum(case((unpriced, 1), else_=0)),
            func.sum(case((unpriced, events.c.cost_units), else_=0)),
            func.sum(case((events.c.status == EventStatus.ERROR.value, 1), else_=0)),
        ).where(*self._conditions(query))
        if labelled:
            stmt = stmt.group_by(*labelled)
        with self._failing("totals"), self.read() as conn:
            rows = conn.execute(stmt).all()
        out = [self._totals_row(keys, tuple(row)) for row in rows]
        if not keys and not out:
            out = [self._totals_row([], (0,) * 13)]
        return sort_totals(out)

    @staticmethod
    def _totals_row(keys: Sequence[str], row: tuple[Any, ...]) -> Totals:
        n = len(keys)
        label: list[str | None] = []
        for key, value in zip(keys, row[:n], strict=True):
            if value is None:
                label.append(None)
            elif key in ("hour", "day"):
                bucket = int(value) * (HOUR_US if key == "hour" else DAY_US)
                label.append(period_label(from_micros(bucket), key))
            else:
                label.append(str(value))
        sums = [int(v or 0) for v in row[n:]]
        return Totals(
            key=tuple(label),
            events=sums[0],
            requests=sums[1],
            input_tokens=sums[2],
            cache_read_tokens=sums[3],
            cache_write_tokens=sums[4],
            cache_write_1h_tokens=sums[5],
            output_tokens=sums[6],
            reasoning_tokens=sums[7],
            web_search_requests=sums[8],
            cost=from_units(sums[9]),
            unpriced_events=sums[10],
            unpriced_cost=from_units(sums[11]),
            error_events=sums[12],
        )

    def models_seen(self) -> list[ModelSeen]:
        stmt = select(
            events.c.provider,
            events.c.model,
            events.c.cost_source,
            func.count(),
            func.sum(events.c.cost_units),
            func.max(events.c.price_ref),
        ).group_by(events.c.provider, events.c.model, events.c.cost_source)
        with self._failing("read"), self.read() as conn:
            rows = conn.execute(stmt).all()
        seen = [
            ModelSeen(
                provider=str(p),
                model=str(m),
                cost_source=str(s),
                events=int(n),
                cost=from_units(int(c or 0)),
                price_ref=None if ref is None else str(ref),
            )
            for p, m, s, n, c, ref in rows
        ]
        return sorted(seen, key=lambda s: (s.provider, s.model, s.cost_source))


def open_ledger(
    url: str,
    *,
    create: bool = True,
    upgrade: bool | None = None,
    migrations: Sequence[Migration] | None = None,
    engine_options: Mapping[str, Any] | None = None,
) -> SqlLedger:
    """Open the ledger at `url`: `sqlite:///path.db`, a plain file path, or `postgresql://user@host/db`.

    `create=True` (the default) creates a missing SQLite file (and its directory); with `create=False` a
    missing file raises `LedgerError`. `upgrade` (default: the value of `create`) applies pending
    migrations now; without it call `SqlLedger.upgrade()` (what `costwarden db upgrade` does). Either way
    a database written by a newer costwarden raises `LedgerError`. PostgreSQL needs the `postgres` extra
    (`MissingExtraError` otherwise).
    """
    engine = create_ledger_engine(url, create=create, engine_options=engine_options)
    ledger = SqlLedger(engine, migrations=migrations)
    try:
        if create if upgrade is None else upgrade:
            ledger.upgrade()
        else:
            ledger.check_version()
    except BaseException:
        ledger.close()
        raise
    return ledger
