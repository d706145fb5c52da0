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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from costwarden.clock import default_now
from costwarden.config import RetentionConfig
from costwarden.ledger.codec import from_micros, to_micros
from costwarden.ledger.engine import write_transaction
from costwarden.ledger.rollup_store import RollupStore, rollup_state
from costwarden.reports.periods import local_midnight, month_start, next_month_start

__all__ = ["RetentionPlan", "RetentionResult", "plan_retention", "apply_retention", "fold_zone"]


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


def _state(conn: Connection) -> dict[str, object]:
    row = conn.execute(select(rollup_state).where(rollup_state.c.id == 1)).mappings().first()
    return dict(row) if row is not None else {}


def _fold_days(conn: Connection, store: RollupStore, before: datetime, tz: ZoneInfo) -> int:
    first = store.first_bucket(conn, ["hour"], to_micros(before))
    if first is None:
        return 0
    day = from_micros(first).astimezone(tz).date()
    folded = 0
    while (start := local_midnight(day, tz)) < before:
        end = local_midnight(day + timedelta(days=1), tz)
        folded += store.fold(conn, ["hour"], "day", to_micros(start), to_micros(end), day.isoformat())
        day += timedelta(days=1)
    return folded


def _fold_months(conn: Connection, store: RollupStore, before: datetime, tz: ZoneInfo) -> int:
    first = store.first_bucket(conn, ["hour", "day"], to_micros(before))
    if first is None:
        return 0
    month = month_start(from_micros(first).astimezone(tz).date())
    folded = 0
    while (start := local_midnight(month, tz)) < before:
        following = next_month_start(month)
        end = local_midnight(following, tz)
        folded += store.fold(
            conn, ["hour", "day"], "month", to_micros(start), to_micros(end), month.strftime("%Y-%m")
        )
        month = following
    return folded


def apply_retention(
    store: RollupStore,
    config: RetentionConfig,
    *,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Fold, prune and forget per `config`, in one transaction (rolled back with `dry_run`)."""
    moment = (now or default_now()).astimezone(UTC)
    wanted = tz or ZoneInfo("UTC")
    result: RetentionResult | None = None
    try:
        with write_transaction(store.engine) as conn:
            state = _state(conn)
            stored_zone = state.get("timezone")
            zone = fold_zone(stored_zone if isinstance(stored_zone, str) else None, wanted, moment.date())
            plan = plan_retention(config, moment, zone)
            result = RetentionResult(plan=plan, dry_run=dry_run)
            if zone != str(wanted.key):
                result.notes.append(
                    f"daily and monthly totals are kept in {zone} (the configured timezone is {wanted.key})"
                )
            _run(conn, store, plan, state, result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert result is not None
    return result


def _run(
    conn: Connection,
    store: RollupStore,
    plan: RetentionPlan,
    state: dict[str, object],
    result: RetentionResult,
) -> None:
    tz = ZoneInfo(plan.timezone)
    done = state.get("events_before")
    if plan.events_before is not None and (done is None or to_micros(plan.events_before) > int(str(done))):
        cut = to_micros(plan.events_before)
        result.hourly_folded = _fold_days(conn, store, plan.events_before, tz)
        result.events_deleted = store.prune_events(conn, cut)
        store.set_state(conn, events_before=cut, hourly_before=cut, timezone=plan.timezone)
    done = state.get("daily_before")
    if plan.months_before is not None and (done is None or to_micros(plan.months_before) > int(str(done))):
        result.daily_folded = _fold_months(conn, store, plan.months_before, tz)
        store.set_state(conn, daily_before=to_micros(plan.months_before), timezone=plan.timezone)
    if plan.drop_before is not None:
        result.rows_dropped = store.drop_before(conn, to_micros(plan.drop_before))
        store.set_state(conn, monthly_before=to_micros(plan.drop_before))
    result.empty_rows_removed = store.delete_zero_rows(conn)
