"""Retention on the SQL rollups (`RollupStore.retain`): delete old events, fold hourly rows into days and
daily rows into months, forget the oldest months, in short write transactions.

Every cutoff of a plan is a local midnight (and the 1st of a month for months), so a report over whole days
(or whole months for the oldest data) gives the same totals before and after, to the last unit. The work
is split into batches of about `batch_rows` events or rows; every state between two of them answers every
report as before, and a run that stops half-way is finished by the next. Empty stretches of history cost
nothing: the folds jump from one stored bucket to the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from costwarden.core.periods import local_midnight, month_start, next_month_start
from costwarden.storage.codec import from_micros, to_micros
from costwarden.storage.rollups import RetentionCounts, RetentionPlan
from costwarden.storage.sql.engine import hold_appends, write_transaction
from costwarden.storage.sql.rollup_tables import rollup_state

if TYPE_CHECKING:
    from costwarden.storage.sql.rollup_store import RollupStore

__all__ = ["retain"]

_NEVER: Final = -(2**63)
_BUCKET_COST: Final = 50
"""What folding one day or month costs a batch besides its rows (its statements), so a batch of sparse
history also ends after `batch_rows / _BUCKET_COST` buckets."""


class _DryRun(Exception):
    pass


def retain(store: RollupStore, plan: RetentionPlan, *, dry_run: bool, batch_rows: int) -> RetentionCounts:
    """Apply `plan` to the rollups and events of `store`'s database (see the module docstring)."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    if not dry_run:
        return _run(_Batches(store.engine), store, plan, batch_rows)
    counts = RetentionCounts()
    try:
        with write_transaction(store.engine) as conn:
            hold_appends(conn)  # no trigger changes a rollup row while it is folded
            counts = _run(_Batches(store.engine, conn), store, plan, batch_rows)
            raise _DryRun
    except _DryRun:
        pass
    return counts


def _state(conn: Connection) -> dict[str, object]:
    row = conn.execute(select(rollup_state).where(rollup_state.c.id == 1)).mappings().first()
    return dict(row) if row is not None else {}


def _micros(state: Mapping[str, object], name: str) -> int | None:
    value = state.get(name)
    return None if value is None else int(str(value))


class _Batches:
    """Write transactions for one run: a new short one per batch, or (dry run) always the same one."""

    def __init__(self, engine: Engine, single: Connection | None = None) -> None:
        self._engine = engine
        self._single = single

    @contextmanager
    def __call__(self) -> Iterator[Connection]:
        if self._single is not None:
            yield self._single
            return
        with write_transaction(self._engine) as conn:
            hold_appends(conn)  # no trigger changes a rollup row while it is folded
            yield conn


def _run(batch: _Batches, store: RollupStore, plan: RetentionPlan, limit: int) -> RetentionCounts:
    tz = ZoneInfo(plan.timezone)
    deleted = hourly = daily = dropped = 0
    if plan.events_before is not None:
        cut = to_micros(plan.events_before)
        deleted = _prune(batch, store, cut, limit)
        hourly = _fold(batch, store, ["hour"], cut, "hourly_before", plan.timezone, limit, tz)
    if plan.months_before is not None:
        cut = to_micros(plan.months_before)
        daily = _fold(batch, store, ["hour", "day"], cut, "daily_before", plan.timezone, limit, tz)
    with batch() as conn:
        if plan.drop_before is not None:
            dropped = store.drop_before(conn, to_micros(plan.drop_before))
            store.set_state(conn, monthly_before=to_micros(plan.drop_before))
        removed = store.delete_zero_rows(conn)
    return RetentionCounts(deleted, hourly, daily, dropped, removed)


def _prune(batch: _Batches, store: RollupStore, cut: int, limit: int) -> int:
    """Delete the events before `cut`, about `limit` per transaction, moving `events_before` (where the
    triggers stop counting and reports stop reading events) along with each batch. Their sums stay in the
    hourly rows, so every whole hour answers as before."""
    deleted = 0
    while True:
        with batch() as conn:
            done = _micros(_state(conn), "events_before")
            if done is not None and done >= cut:
                return deleted
            reach = store.prune_reach(conn, cut, limit)
            deleted += store.prune_events(conn, reach)
            store.set_state(conn, events_before=max(reach, done or _NEVER))
        if reach >= cut:
            return deleted


def _fold(
    batch: _Batches,
    store: RollupStore,
    levels: list[str],
    cut: int,
    mark: str,
    zone: str,
    limit: int,
    tz: ZoneInfo,
) -> int:
    """Fold the rows of `levels` before `cut` into days (`levels == ["hour"]`) or months, one stored bucket
    after another (empty days and months are skipped, however many), about `limit` rows per transaction.
    `mark` (`hourly_before` / `daily_before`) records how far the folding got."""
    into = "day" if levels == ["hour"] else "month"
    folded = 0
    while True:
        with batch() as conn:
            done = _micros(_state(conn), mark)
            first = store.first_bucket(conn, levels, cut)
            if first is None and done is not None and done >= cut:
                return folded
            in_batch = work = 0
            while first is not None and work < limit:
                start, end, label = _bucket_of(first, into, tz)
                rows = store.fold(conn, levels, into, start, end, label)
                in_batch += rows
                work += rows + _BUCKET_COST
                first = store.first_bucket(conn, levels, cut, from_us=end)
            reach = cut if first is None else _bucket_of(first, into, tz)[0]
            store.set_state(conn, **{mark: max(reach, done or _NEVER)}, timezone=zone)
            folded += in_batch
        if first is None:
            return folded


def _bucket_of(at_us: int, into: str, tz: ZoneInfo) -> tuple[int, int, str]:
    """The local day (or month) holding the instant `at_us`: its start, end and label. At the ends of the
    calendar (year 1, year 9999) a bound the datetime type cannot hold is the first or last instant."""
    day = from_micros(at_us).astimezone(tz).date()
    if into == "day":
        following = day + timedelta(days=1) if day < date.max else None
        return _midnight(day, tz), _midnight(following, tz), day.isoformat()
    month = month_start(day)
    following = next_month_start(month) if month < date(9999, 12, 1) else None
    return _midnight(month, tz), _midnight(following, tz), month.strftime("%Y-%m")


_FIRST_US: Final = to_micros(datetime.min.replace(tzinfo=UTC))
_LAST_US: Final = to_micros(datetime.max.replace(tzinfo=UTC))


def _midnight(day: date | None, tz: ZoneInfo) -> int:
    try:
        return to_micros(local_midnight(day, tz)) if day is not None else _LAST_US
    except OverflowError:
        return _FIRST_US if day is not None and day.year == 1 else _LAST_US
