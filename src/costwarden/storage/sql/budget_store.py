"""Budget counters, reservations, saved budgets and the alert feed in the ledger's SQL database.

Tables (created by migration `m0002_budgets`; times are microseconds since the epoch, money 10^-10 USD):

- `budget_counters`: one row per budget, scope value(s) and period instance (`key`): spent and reserved
  cost, tokens and requests, in-flight calls (`reserved_concurrent`), and `terminated_at` for runs a
  `terminate_run` budget stopped.
- `budget_reservations`: every hold not yet settled or released, with its deadline and owner (pid, host).
  `counted` (migration `m0010_reservation_journal`): 1 when its holds are in `budget_counters`, 0 when it
  is only recorded here (a reservation held in Redis: see `record`).
- `budget_alerts`: the feed: threshold crossings (unique `dedupe` key: recorded once) and exhaustions.
- `alert_acks` (migration `m0017_alert_acks`): who acknowledged an alert of the feed, when, and a note.
- `budget_definitions`, `budget_meta`: budgets set from the CLI and a version stamp that changes with them.
- `budget_derivations` (migration `m0006_budget_derivations`): per budget and period instance, the
  fingerprint of the definition its counters were derived from the ledger under.

Atomicity. SQLite: every write is one `BEGIN IMMEDIATE` transaction, so processes on one file are
serialised. PostgreSQL: `reserve` first adds its holds with one upsert per counter in key order (which
creates and locks the row), then decides on the amounts as they were before and rolls back when refused;
every write touches counters in key order, so concurrent transactions neither overshoot nor deadlock (a
detected deadlock is retried). `settle` appends the event to `events` in the same transaction that moves
the reservation to spent (the ledger's write hook).

Reservation journal. While Redis counts (`ledger.redis_counters`), every reservation it holds is also a
row here with `counted = 0` (`record`, written before Redis decides), dropped when it is settled (in the
append's transaction: `drop_in`), released or reclaimed. A Redis that lost its data holds every row again;
during a Redis outage `count_recorded` moves the rows onto the SQL counters (`counted = 1`). Dropping a
row takes its holds off the SQL counters only when they are counted there, so a reservation is counted
once on each set of counters, never twice on one.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from costwarden.clock import SYSTEM_CLOCK
from costwarden.core.admission import ZERO, Amounts, CounterState, Shortfall, combined, find_shortfall
from costwarden.core.usage import UsageEvent
from costwarden.forking import ForkSafeLock
from costwarden.storage.budgets import (
    Counted,
    Derive,
    Reservation,
    ReserveResult,
    Settling,
    Spend,
    SpendsFor,
    decode_holds,
    encode_holds,
)
from costwarden.storage.codec import Row, decode_row, now_micros
from costwarden.storage.sql.budget_records import BudgetSql
from costwarden.storage.sql.ledger import SqlLedger
from costwarden.storage.sql.schema import id_type, metadata, text_type

__all__ = [
    "budget_counters",
    "budget_reservations",
    "budget_alerts",
    "alert_acks",
    "budget_definitions",
    "budget_meta",
    "budget_derivations",
    "SqlBudgetStore",
]


def _key_type() -> Any:
    return String(512).with_variant(String(512, collation="C"), "postgresql")


budget_counters = Table(
    "budget_counters",
    metadata,
    Column("key", _key_type(), nullable=False),
    Column("budget_id", text_type(), nullable=False),
    Column("scope_key", text_type(), nullable=False),
    Column("period_key", text_type(), nullable=False),
    *(Column(f"spent_{d}", BigInteger, nullable=False) for d in ("cost", "tokens", "requests")),
    *(
        Column(f"reserved_{d}", BigInteger, nullable=False)
        for d in ("cost", "tokens", "requests", "concurrent")
    ),
    Column("terminated_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("key", name="pk_budget_counters"),
    sqlite_with_rowid=False,
)

budget_reservations = Table(
    "budget_reservations",
    metadata,
    Column("id", id_type(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("label", text_type(), nullable=False),
    Column("holds", Text(), nullable=False),
    Column("deadline", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", text_type(), nullable=False),
    Column("counted", Integer, nullable=False),
    PrimaryKeyConstraint("id", name="pk_budget_reservations"),
    sqlite_with_rowid=False,
)

budget_alerts = Table(
    "budget_alerts",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("budget_id", text_type(), nullable=False),
    Column("scope", text_type(), nullable=False),
    Column("period_key", text_type(), nullable=False),
    Column("dimension", String(16), nullable=False),
    Column("threshold", String(16), nullable=True),
    Column("limit_units", BigInteger, nullable=False),
    Column("spent_units", BigInteger, nullable=False),
    Column("reserved_units", BigInteger, nullable=False),
    Column("requested_units", BigInteger, nullable=False),
    Column("resets_at", BigInteger, nullable=True),
    Column("message", Text(), nullable=False),
    Column("details", Text(), nullable=False),
    Column("dedupe", _key_type(), nullable=True, unique=True),
)
Index("ix_budget_alerts_at", budget_alerts.c.at)

alert_acks = Table(
    "alert_acks",
    metadata,
    Column("alert_id", BigInteger, nullable=False),
    Column("acknowledged_at", BigInteger, nullable=False),
    Column("acknowledged_by", text_type(), nullable=False),
    Column("note", text_type(), nullable=True),
    PrimaryKeyConstraint("alert_id", name="pk_alert_acks"),
)

budget_definitions = Table(
    "budget_definitions",
    metadata,
    Column("id", String(128).with_variant(String(128, collation="C"), "postgresql"), nullable=False),
    Column("definition", Text(), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_budget_definitions"),
)

budget_meta = Table(
    "budget_meta",
    metadata,
    Column("name", String(64), nullable=False),
    Column("value", Text(), nullable=False),
    PrimaryKeyConstraint("name", name="pk_budget_meta"),
)

budget_derivations = Table(
    "budget_derivations",
    metadata,
    Column("budget_id", text_type(), nullable=False),
    Column("period_key", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("derived_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("budget_id", "period_key", name="pk_budget_derivations"),
)

_COUNTER_COLUMNS = (
    "key, spent_cost, spent_tokens, spent_requests, reserved_cost, reserved_tokens, reserved_requests,"
    " reserved_concurrent, terminated_at"
)
_UPSERT = (
    "INSERT INTO budget_counters (key, budget_id, scope_key, period_key, spent_cost, spent_tokens,"
    " spent_requests, reserved_cost, reserved_tokens, reserved_requests, reserved_concurrent, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
    " spent_cost = budget_counters.spent_cost + excluded.spent_cost,"
    " spent_tokens = budget_counters.spent_tokens + excluded.spent_tokens,"
    " spent_requests = budget_counters.spent_requests + excluded.spent_requests,"
    " reserved_cost = budget_counters.reserved_cost + excluded.reserved_cost,"
    " reserved_tokens = budget_counters.reserved_tokens + excluded.reserved_tokens,"
    " reserved_requests = budget_counters.reserved_requests + excluded.reserved_requests,"
    " reserved_concurrent = budget_counters.reserved_concurrent + excluded.reserved_concurrent,"
    " updated_at = excluded.updated_at"
)
_UPSERT_RETURNING = _UPSERT + " RETURNING " + _COUNTER_COLUMNS.partition(", ")[2]
_INSERT_RESERVATION = (
    "INSERT INTO budget_reservations (id, kind, label, holds, deadline, created_at, pid, host, counted)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_RESERVATION = "DELETE FROM budget_reservations WHERE id = ? RETURNING holds, counted"
_DELETE_EXPIRED = "DELETE FROM budget_reservations WHERE deadline < ? RETURNING holds, counted"
_SELECT_RESERVATIONS = (
    "SELECT id, holds, deadline, pid, host, kind, label, created_at FROM budget_reservations"
    " ORDER BY created_at"
)


@functools.lru_cache(maxsize=4096)
def _parts(key: str) -> tuple[str, str, str]:
    """`budget|scope|period` -> its three parts (the scope itself may hold `|`)."""
    budget_id, _, rest = key.partition("|")
    scope_key, _, period_key = rest.rpartition("|")
    return budget_id, scope_key, period_key


def _anchor(key: str) -> str:
    """The row every admission of one rolling budget and scope locks (PostgreSQL)."""
    return key.rpartition("|")[0] + "|rolling"


def _state(row: Sequence[Any], at: int = 1) -> CounterState:
    """A counter from `row[at:at + 8]`: spent (3), reserved (4), terminated_at."""
    return CounterState(
        Amounts(int(row[at]), int(row[at + 1]), int(row[at + 2])),
        Amounts(int(row[at + 3]), int(row[at + 4]), int(row[at + 5]), int(row[at + 6])),
        row[at + 7] is not None,
    )


def _befores(
    spends: Sequence[Spend], deltas: Mapping[str, tuple[Amounts, Amounts]], after: Mapping[str, Amounts]
) -> list[Counted]:
    """Each spend with its counter's spent amounts just before it (spends of one key apply in order)."""
    out: list[Counted] = []
    running: dict[str, Amounts] = {}
    for spend in spends:
        before = running.get(spend.key, after[spend.key] - deltas[spend.key][0])
        out.append(Counted(spend, before))
        running[spend.key] = before + spend.amounts
    return out


class _Refused(Exception):
    """Control flow: a refused reservation rolls its holds back."""

    def __init__(self, result: ReserveResult) -> None:
        self.result = result


class SqlBudgetStore(BudgetSql):
    """`CounterStore` and `BudgetRecords` on the ledger's database (SQLite or PostgreSQL)."""

    def __init__(self, ledger: SqlLedger) -> None:
        super().__init__(ledger)
        self._select_cache: dict[int, str] = {}
        self._upsert_returning = self._sql(_UPSERT_RETURNING)
        self._insert_reservation = self._sql(_INSERT_RESERVATION)
        self._delete_reservation = self._sql(_DELETE_RESERVATION)
        self._expired = self._sql("SELECT 1 FROM budget_reservations WHERE deadline < ? LIMIT 1")
        self._held = self._sql("SELECT 1 FROM budget_reservations WHERE id = ?")
        self._spends_for: SpendsFor | None = None
        self._local = threading.local()
        self._hooked = False
        self._hook_lock = ForkSafeLock()

    def _hook(self) -> None:
        """Count appends from the first settlement on (until then appends keep the ledger's lean path)."""
        if not self._hooked:
            with self._hook_lock:
                if not self._hooked:
                    self.ledger.add_raw_write_hook(self._counted)
                    self._hooked = True

    def close(self) -> None:
        if self._hooked:
            self._hooked = False
            with contextlib.suppress(ValueError):
                self.ledger.remove_write_hook(self._counted)

    # -- statements --------------------------------------------------------------------------------------

    def _fetch(self, cursor: Any, keys: Sequence[str]) -> dict[str, CounterState]:
        unique = sorted(set(keys))
        sql = self._select_cache.get(len(unique))
        if sql is None:
            marks = ", ".join(["?"] * len(unique))
            sql = self._select_cache[len(unique)] = self._sql(
                f"SELECT {_COUNTER_COLUMNS} FROM budget_counters WHERE key IN ({marks})"
            )
        cursor.execute(sql, unique)
        return {row[0]: _state(row) for row in cursor.fetchall()}

    def _apply(
        self, cursor: Any, deltas: Mapping[str, tuple[Amounts, Amounts]], now: int
    ) -> dict[str, CounterState]:
        """Add (spent, reserved) deltas to counters in key order; returns each counter after."""
        out: dict[str, CounterState] = {}
        sql = self._upsert_returning
        for key in sorted(deltas):
            spent, reserved = deltas[key]
            budget_id, scope_key, period_key = _parts(key)
            cursor.execute(
                sql,
                (
                    key,
                    budget_id,
                    scope_key,
                    period_key,
                    spent.cost,
                    spent.tokens,
                    spent.requests,
                    reserved.cost,
                    reserved.tokens,
                    reserved.requests,
                    reserved.concurrent,
                    now,
                ),
            )
            out[key] = _state(cursor.fetchone(), 0)
        return out

    # -- counters ----------------------------------------------------------------------------------------

    def reserve(self, reservation: Reservation, needs: Sequence[Any]) -> ReserveResult:
        return self._retrying(lambda: self._reserve(reservation, needs))

    def _reserve(self, reservation: Reservation, needs: Sequence[Any]) -> ReserveResult:
        """Hold first, in key order (on PostgreSQL the upserts lock the counters, so concurrent admissions
        queue there and cannot deadlock), then decide on the amounts as they were before; refused: roll
        back."""
        held = {h.key: h.amounts for h in reservation.holds}
        deltas = {k: (ZERO, a) for k, a in held.items()}
        if self._postgres:  # a rolling window's admissions meet on one row, so none misses another's hold
            deltas.update((_anchor(n.key), (ZERO, ZERO)) for n in needs if len(n.keys) > 1)
        try:
            with self._cursor() as cursor:
                after = self._apply(cursor, deltas, now_micros())
                states = {
                    k: CounterState(s.spent, s.reserved - held[k], s.terminated)
                    for k, s in after.items()
                    if k in held
                }
                others = [k for need in needs for k in need.keys if k not in states]
                if others:  # the earlier buckets of a rolling window
                    states.update(self._fetch(cursor, others))
                short: list[Shortfall] = []
                over: list[Shortfall] = []
                for need in needs:
                    found = find_shortfall(need, combined(need.keys, states))
                    if found is not None:
                        (short if need.enforce else over).append(found)
                if short:
                    raise _Refused(ReserveResult(False, tuple(short), tuple(over)))
                cursor.execute(
                    self._insert_reservation,
                    _reservation_row(reservation),
                )
                return ReserveResult(True, (), tuple(over))
        except _Refused as refused:
            return refused.result

    def record(self, reservation: Reservation) -> None:
        """Record a reservation held elsewhere (Redis) without counting it on the SQL counters."""
        self._retrying(lambda: self._record(reservation))

    def _record(self, reservation: Reservation) -> None:
        with self._cursor() as cursor:
            cursor.execute(self._insert_reservation, _reservation_row(reservation, counted=0))

    def count_recorded(self) -> int:
        """Hold on the SQL counters every reservation only recorded so far (Redis is unreachable: the SQL
        counters decide); returns how many."""
        return self._retrying(self._count_recorded)

    def _count_recorded(self) -> int:
        with self._cursor(write=False) as cursor:  # mostly none: no write transaction then
            cursor.execute("SELECT 1 FROM budget_reservations WHERE counted = 0 LIMIT 1")
            if cursor.fetchone() is None:
                return 0
        deltas: dict[str, tuple[Amounts, Amounts]] = {}
        with self._cursor() as cursor:
            cursor.execute("UPDATE budget_reservations SET counted = 1 WHERE counted = 0 RETURNING holds")
            rows = cursor.fetchall()
            for row in rows:
                for hold in decode_holds(row[0]):
                    spent, reserved = deltas.get(hold.key, (ZERO, ZERO))
                    deltas[hold.key] = (spent, reserved + hold.amounts)
            if deltas:
                self._apply(cursor, deltas, now_micros())
        return len(rows)

    def recorded(self, conn: Any) -> list[Reservation]:
        """Every reservation row, read on `conn` (a SQLAlchemy connection of the ledger, in the caller's
        transaction)."""
        return [_reservation(r) for r in conn.exec_driver_sql(_SELECT_RESERVATIONS).fetchall()]

    def drop_in(self, cursor: Any, reservation_id: str) -> bool:
        """Drop a reservation's row on `cursor` (in the caller's transaction), its holds off the SQL
        counters if they were counted there; False when there was no row."""
        deltas: dict[str, tuple[Amounts, Amounts]] = {}
        found = self._take(cursor, reservation_id, deltas)
        if deltas:
            self._apply(cursor, deltas, now_micros())
        return found

    def _take(self, cursor: Any, reservation_id: str, deltas: dict[str, tuple[Amounts, Amounts]]) -> bool:
        cursor.execute(self._delete_reservation, (reservation_id,))
        row = cursor.fetchone()
        if row is None:
            return False
        if row[1]:
            _unhold(row[0], deltas)
        return True

    def settle(
        self, reservation_id: str | None, events: Sequence[UsageEvent], spends_for: SpendsFor
    ) -> list[Counted]:
        """Append through the ledger; its write hook (`_counted`) drops the reservation and counts the
        spends inside the append transaction. A duplicate event (nothing written) only releases."""
        self._spends_for = spends_for
        self._hook()
        pending = Settling(reservation_id, {e.id: e for e in events}, spends_for)
        self._local.pending = pending
        try:
            self._retrying(lambda: self._append(events))
        finally:
            self._local.pending = None
        if reservation_id is not None and not pending.taken:
            self.release(reservation_id)
        return pending.counted

    def _append(self, events: Sequence[UsageEvent]) -> None:
        if len(events) == 1:
            self.ledger.append(events[0])
        elif events:
            self.ledger.append_many(events)

    def _counted(self, cursor: Any, written: Sequence[Row], replaced: Sequence[Row]) -> None:
        """The ledger's raw write hook: count what an append wrote, on its cursor, in its transaction."""
        pending: Settling | None = getattr(self._local, "pending", None)
        spends_for = pending.spends_for if pending is not None else self._spends_for
        if spends_for is None:
            return
        deltas: dict[str, tuple[Amounts, Amounts]] = {}
        if pending is not None and pending.reservation_id is not None:
            pending.taken = self._take(cursor, pending.reservation_id, deltas)
        old = {row[0]: row for row in replaced}
        spends: list[Spend] = []
        for row in written:
            event = pending.events.get(row[0]) if pending is not None else None
            previous = old.get(row[0])
            for spend in spends_for(
                event if event is not None else decode_row(row),
                decode_row(previous) if previous is not None else None,
            ):
                spends.append(spend)
                spent, reserved = deltas.get(spend.key, (ZERO, ZERO))
                deltas[spend.key] = (spent + spend.amounts, reserved)
        if not deltas:
            return
        after = self._apply(cursor, deltas, now_micros())
        if pending is not None:
            pending.counted = _befores(spends, deltas, {k: s.spent for k, s in after.items()})

    def release(self, reservation_id: str) -> bool:
        return self._retrying(lambda: self._release(reservation_id))

    def _release(self, reservation_id: str) -> bool:
        with self._cursor() as cursor:
            return self.drop_in(cursor, reservation_id)

    def held(self, reservation_id: str) -> bool:
        with self._cursor(write=False) as cursor:
            cursor.execute(self._held, (reservation_id,))
            return cursor.fetchone() is not None

    def reclaim(self, now: float) -> int:
        return self._retrying(lambda: self._reclaim(now))

    def _reclaim(self, now: float) -> int:
        deadline = int(now * 1_000_000)
        with self._cursor(write=False) as cursor:  # most calls find none: no write transaction for them
            cursor.execute(self._expired, (deadline,))
            if cursor.fetchone() is None:
                return 0
        deltas: dict[str, tuple[Amounts, Amounts]] = {}
        with self._cursor() as cursor:
            cursor.execute(self._sql(_DELETE_EXPIRED), (deadline,))
            rows = cursor.fetchall()
            for row in rows:
                if row[1]:
                    _unhold(row[0], deltas)
            if deltas:
                self._apply(cursor, deltas, now_micros())
        return len(rows)

    def states(self, keys: Sequence[str]) -> dict[str, CounterState]:
        if not keys:
            return {}
        with self._cursor(write=False) as cursor:
            return self._fetch(cursor, keys)

    def counters(self, budget_id: str) -> dict[str, CounterState]:
        with self._cursor(write=False) as cursor:
            cursor.execute(
                self._sql(f"SELECT {_COUNTER_COLUMNS} FROM budget_counters WHERE budget_id = ?"), (budget_id,)
            )
            return {row[0]: _state(row) for row in cursor.fetchall()}

    def terminate(self, key: str) -> None:
        return self._retrying(lambda: self._terminate(key))

    def _terminate(self, key: str) -> None:
        now = now_micros()
        with self._cursor() as cursor:
            self._apply(cursor, {key: (ZERO, ZERO)}, now)
            cursor.execute(
                self._sql(
                    "UPDATE budget_counters SET terminated_at = ? WHERE key = ? AND terminated_at IS NULL"
                ),
                (now, key),
            )

    def reservations(self) -> list[Reservation]:
        with self._cursor(write=False) as cursor:
            cursor.execute(_SELECT_RESERVATIONS)
            return [_reservation(r) for r in cursor.fetchall()]

    def _underived(self, cursor: Any, budget_id: str, fingerprint: str, periods: Sequence[str]) -> list[str]:
        marks = ", ".join(["?"] * len(periods))
        cursor.execute(
            self._sql(
                "SELECT period_key FROM budget_derivations WHERE budget_id = ? AND fingerprint = ?"
                f" AND period_key IN ({marks})"
            ),
            (budget_id, fingerprint, *periods),
        )
        done = {row[0] for row in cursor.fetchall()}
        return [p for p in periods if p not in done]

    def underived(self, budget_id: str, fingerprint: str, periods: Sequence[str]) -> list[str]:
        if not periods:
            return []
        with self._cursor(write=False) as cursor:
            return self._underived(cursor, budget_id, fingerprint, periods)

    def derive(self, budget_id: str, fingerprint: str, periods: Sequence[str], compute: Derive) -> int:
        if not self.underived(budget_id, fingerprint, periods):
            return 0
        return self._retrying(lambda: self._derive(budget_id, fingerprint, periods, compute))

    def _derive(self, budget_id: str, fingerprint: str, periods: Sequence[str], compute: Derive) -> int:
        with self._cursor() as cursor:
            if self._postgres:
                cursor.execute("LOCK TABLE budget_counters IN EXCLUSIVE MODE")
            missing = self._underived(cursor, budget_id, fingerprint, periods)  # another process may have
            if not missing:
                return 0
            spent = compute(missing)
            marks = ", ".join(["?"] * len(missing))
            cursor.execute(
                self._sql(
                    "UPDATE budget_counters SET spent_cost = 0, spent_tokens = 0, spent_requests = 0"
                    f" WHERE budget_id = ? AND period_key IN ({marks})"
                ),
                (budget_id, *missing),
            )
            now = now_micros()
            if spent:
                self._apply(cursor, {key: (amounts, ZERO) for key, amounts in spent.items()}, now)
            upsert = self._sql(
                "INSERT INTO budget_derivations (budget_id, period_key, fingerprint, derived_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (budget_id, period_key) DO UPDATE SET"
                " fingerprint = excluded.fingerprint, derived_at = excluded.derived_at"
            )
            for period in missing:
                cursor.execute(upsert, (budget_id, period, fingerprint, now))
            # Periods derived under another definition counted by other rules meanwhile: derive them again
            # when that definition returns.
            cursor.execute(
                self._sql("DELETE FROM budget_derivations WHERE budget_id = ? AND fingerprint <> ?"),
                (budget_id, fingerprint),
            )
            return len(missing)

    def derived_budgets(self) -> set[str]:
        with self._cursor(write=False) as cursor:
            cursor.execute("SELECT DISTINCT budget_id FROM budget_derivations")
            return {row[0] for row in cursor.fetchall()}

    def forget(self, budget_ids: Collection[str]) -> None:
        if budget_ids:
            self._retrying(lambda: self._forget(sorted(budget_ids)))

    def _forget(self, budget_ids: Sequence[str]) -> None:
        marks = ", ".join(["?"] * len(budget_ids))
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(f"DELETE FROM budget_derivations WHERE budget_id IN ({marks})"), list(budget_ids)
            )

    def rebuild(self, budget_ids: Sequence[str], compute: Callable[[], Mapping[str, Amounts]]) -> int:
        return self._retrying(lambda: self._rebuild(budget_ids, compute))

    def _rebuild(self, budget_ids: Sequence[str], compute: Callable[[], Mapping[str, Amounts]]) -> int:
        if not budget_ids:
            return 0
        marks = ", ".join(["?"] * len(budget_ids))
        now = now_micros()
        with self._cursor() as cursor:
            if self._postgres:
                cursor.execute("LOCK TABLE budget_counters IN EXCLUSIVE MODE")
            spent = compute()
            ids = list(budget_ids)
            cursor.execute(self._sql(f"DELETE FROM budget_derivations WHERE budget_id IN ({marks})"), ids)
            cursor.execute(
                self._sql(
                    f"DELETE FROM budget_counters WHERE budget_id IN ({marks}) AND terminated_at IS NULL"
                    " AND reserved_cost = 0 AND reserved_tokens = 0 AND reserved_requests = 0"
                    " AND reserved_concurrent = 0"
                ),
                ids,
            )
            cursor.execute(
                self._sql(
                    f"UPDATE budget_counters SET spent_cost = 0, spent_tokens = 0, spent_requests = 0"
                    f" WHERE budget_id IN ({marks})"
                ),
                ids,
            )
            self._apply(cursor, {key: (amounts, ZERO) for key, amounts in spent.items()}, now)
        return len(spent)


def _unhold(holds: str, deltas: dict[str, tuple[Amounts, Amounts]]) -> None:
    """Take a row's holds (`holds` text) off the reserved amounts in `deltas`."""
    for hold in decode_holds(holds):
        spent, reserved = deltas.get(hold.key, (ZERO, ZERO))
        deltas[hold.key] = (spent, reserved - hold.amounts)


def _reservation(row: Sequence[Any]) -> Reservation:
    """A reservation from a `_SELECT_RESERVATIONS` row."""
    return Reservation(
        row[0], decode_holds(row[1]), row[2] / 1e6, int(row[3]), row[4], row[5], row[6], row[7] / 1e6
    )


def _reservation_row(reservation: Reservation, *, counted: int = 1) -> tuple[object, ...]:
    """The `budget_reservations` row of a reservation (times in microseconds); `counted` 0: only recorded
    (held in Redis)."""
    return (
        reservation.id,
        reservation.kind,
        reservation.label,
        encode_holds(reservation.holds),
        int(reservation.deadline * 1_000_000),
        int((reservation.created or SYSTEM_CLOCK()) * 1_000_000),
        reservation.pid,
        reservation.host,
        counted,
    )
