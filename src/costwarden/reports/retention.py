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

This module plans a run (pure); the backend's rollups carry it out (`Rollups.retain`, on SQL
`costwarden.storage.sql.retention`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from costwarden.clock import default_now
from costwarden.config import RetentionConfig
from costwarden.core.periods import local_midnight, month_start
from costwarden.storage.rollups import BATCH_ROWS, RetentionPlan, Rollups

__all__ = [
    "BATCH_ROWS",
    "RetentionPlan",
    "RetentionResult",
    "plan_retention",
    "apply_retention",
    "fold_zone",
]


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


def apply_retention(
    store: Rollups,
    config: RetentionConfig,
    *,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> RetentionResult:
    """Fold, prune and forget per `config` (see `Rollups.retain`): short write transactions of at most
    `batch_rows` events or rows each; `dry_run` does the same work in one transaction and rolls it back."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    moment = (now or default_now()).astimezone(UTC)
    wanted = tz or ZoneInfo("UTC")
    zone = fold_zone(store.coverage().timezone, wanted, moment.date())
    plan = plan_retention(config, moment, zone)
    result = RetentionResult(plan=plan, dry_run=dry_run)
    if zone != str(wanted.key):
        result.notes.append(
            f"daily and monthly totals are kept in {zone} (the configured timezone is {wanted.key})"
        )
    counts = store.retain(plan, dry_run=dry_run, batch_rows=batch_rows)
    result.events_deleted = counts.events_deleted
    result.hourly_folded = counts.hourly_folded
    result.daily_folded = counts.daily_folded
    result.rows_dropped = counts.rows_dropped
    result.empty_rows_removed = counts.empty_rows_removed
    return result
