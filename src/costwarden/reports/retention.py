"""Retention (`costwarden maintain`): keep detail for a while, totals for longer, without changing any total.

With the defaults (`retention: {detailed_days: 90, daily_days: 365, monthly_days: null}`):

1. hourly rollups older than 90 days are folded into daily rows (local days of the configured timezone),
   then the events older than that are deleted: their sums live on in the daily rows;
2. daily rows older than 365 days (whole months) are folded into monthly rows;
3. monthly rows are kept forever (with `monthly_days` set, older months are forgotten: the one step that
   does change totals, because it is asked to).

Every cutoff is a local midnight (and the 1st of a month for step 2), so a report over whole days (or
whole months for the oldest data) gives the same totals before and after, to the last unit. A range that
would cut through a folded day or month is refused (`NotResolvable`) instead of being answered wrongly.
Day and month rows keep the timezone of the first run; a timezone whose midnights are not whole UTC hours
(e.g. Asia/Kolkata) folds in UTC instead.

An event recorded after a run with a time before its cut is counted in an hourly row there by the rollup
triggers (`m0011_late_events`); the next run folds that hour into its day (or month) and, once the cut
moves on, deletes the event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from costwarden.clock import default_now
from costwarden.config import RetentionConfig
from costwarden.reports.periods import local_midnight, month_start, next_month_start
from costwarden.storage.codec import from_micros, to_micros
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.rollup_store import RollupStore, rollup_state

__all__ = [
    "BATCH_ROWS",
    "RetentionPlan",
    "RetentionResult",
    "plan_retention",
    "apply_retention",
    "fold_zone",
]


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """The cutoffs of one run (None: nothing to do at that level)."""

    timezone: str
    events_before: datetime | None
    months_before: datetime | None
    drop_before: datetime | None


@dataclass(slots=True)
class RetentionResult:
    """What a run did (or, with `dry_run`, would do)."""

    plan: RetentionPlan
    dry_run: bool
    events_deleted: int = 0
    hourly_folded: int = 0
    daily_folded: int = 0
    rows_dropped: int = 0
    empty_rows_removed: int = 0
    notes: list[str] = field(default_factory=list)


def _aligned(day: date, tz: ZoneInfo) -> bool:
    start = local_midnight(day, tz)
    return start.minute == 0 and start.second == 0 and start.microsecond == 0


def fold_zone(stored: str | None, wanted: ZoneInfo, around: date) -> str:
    """The timezone day and month rows are cut in: the stored one, else `wanted` when its midnights are
    whole UTC hours (checked over the year around `around`), else UTC."""
    if stored:
        return stored
    days = (around + timedelta(days=offset) for offset in range(-400, 31, 7))
    return str(wanted.key) if all(_aligned(day, wanted) for day in days) else "UTC"


def plan_retention(config: RetentionConfig, now: datetime, zone: str) -> RetentionPlan:
    """The cutoffs for `now`: local midnights `detailed_days` ago, and the 1st of the month holding the day
    `daily_days` (and `monthly_days`) ago; a later level never cuts after an earlier one."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    events_before = None
    if config.detailed_days is not None:
        events_before = local_midnight(today - timedelta(days=config.detailed_days), tz)
    months_before = None
    if config.daily_days is not None and events_before is not None:
        cut = month_start(today - timedelta(days=config.daily_days))
        latest = month_start(events_before.astimezone(tz).date())  # never fold days that still have events
        months_before = local_midnight(min(cut, latest), tz)
    drop_before = None
    if config.monthly_days is not None and months_before is not None:
        cut = month_start(today - timedelta(days=config.monthly_days))
        drop_before = min(local_midnight(cut, tz), months_before)
    return RetentionPlan(zone, events_before, months_before, drop_before)


class _DryRun(Exception):
    pass


BATCH_ROWS: Final = 5_000
"""How much one write transaction of `apply_retention` does at most: delete about this many events (up to
the end of the hour holding the last one), or fold this many rollup rows (up to the end of the day or month
holding the last one; each day or month counts 50 rows more, for its statements). Other writers wait for
one batch at most, never for the whole run."""

_NEVER: Final = -(2**63)
_BUCKET_COST: Final = 50
"""What folding one day or month costs a batch besides its rows (its statements), so a batch of sparse
history also ends after `BATCH_ROWS / _BUCKET_COST` buckets."""


def _state(conn: Connection) -> dict[str, object]:
    row = conn.execute(select(rollup_state).where(rollup_state.c.id == 1)).mappings().first()
    return dict(row) if row is not None else {}


def _micros(state: Mapping[str, object], name: str) -> int | None:
    value = state.get(name)
    return None if value is None else int(str(value))


def apply_retention(
    store: RollupStore,
    config: RetentionConfig,
    *,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> RetentionResult:
    """Fold, prune and forget per `config`.

    The work is split into short write transactions of at most `batch_rows` events or rows each (see
    `BATCH_ROWS`); every state between two of them answers every report as before, and a run that stops
    half-way is finished by the next. Empty stretches of history cost nothing: the folds jump from one
    stored bucket to the next. `dry_run` does the same work in one transaction and rolls it back.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    moment = (now or default_now()).astimezone(UTC)
    wanted = tz or ZoneInfo("UTC")
    with read_transaction(store.engine) as conn:
        state = _state(conn)
    stored_zone = state.get("timezone")
    zone = fold_zone(stored_zone if isinstance(stored_zone, str) else None, wanted, moment.date())
    plan = plan_retention(config, moment, zone)
    result = RetentionResult(plan=plan, dry_run=dry_run)
    if zone != str(wanted.key):
        result.notes.append(
            f"daily and monthly totals are kept in {zone} (the configured timezone is {wanted.key})"
        )
    if not dry_run:
        _run(_Batches(store.engine), store, plan, result, batch_rows)
        return result
    try:
        with write_transaction(store.engine) as conn:
            _lock_writers(conn)
            _run(_Batches(store.engine, conn), store, plan, result, batch_rows)
            raise _DryRun
    except _DryRun:
        pass
    return result


def _lock_writers(conn: Connection) -> None:
    """PostgreSQL: hold appends back until this transaction ends (they take ROW EXCLUSIVE on `events`,
    which SHARE excludes), so no trigger changes a rollup row while it is being folded. SQLite: the write
    transaction already holds the database's write lock."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE events IN SHARE MODE")


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
            _lock_writers(conn)
            yield conn


def _run(
    batch: _Batches, store: RollupStore, plan: RetentionPlan, result: RetentionResult, limit: int
) -> None:
    tz = ZoneInfo(plan.timezone)
    if plan.events_before is not None:
        cut = to_micros(plan.events_before)
        result.events_deleted = _prune(batch, store, cut, limit)
        result.hourly_folded = _fold(batch, store, ["hour"], cut, "hourly_before", plan.timezone, limit, tz)
    if plan.months_before is not None:
        cut = to_micros(plan.months_before)
        result.daily_folded = _fold(
            batch, store, ["hour", "day"], cut, "daily_before", plan.timezone, limit, tz
        )
    with batch() as conn:
        if plan.drop_before is not None:
            result.rows_dropped = store.drop_before(conn, to_micros(plan.drop_before))
            store.set_state(conn, monthly_before=to_micros(plan.drop_before))
        result.empty_rows_removed = store.delete_zero_rows(conn)


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
