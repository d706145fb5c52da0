"""Report periods: calendar ranges in the configured timezone, as half-open UTC intervals.

A calendar period (`today`, `this_month`, ...) starts at local midnight in the configured timezone and is
converted to UTC once; every query then selects `start <= occurred_at < end` in UTC. Local day, hour and
month labels of a UTC instant come from `local_bucket`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from costwarden.core.periods import local_midnight, month_start, next_month_start

__all__ = [
    "PERIOD_NAMES",
    "Period",
    "local_midnight",
    "month_start",
    "next_month_start",
    "named_period",
    "between",
    "last_days",
    "previous_period",
    "local_bucket",
    "local_day_starts",
    "floor_hour",
    "ceil_hour",
    "utc_iso",
]

PERIOD_NAMES: tuple[str, ...] = ("today", "yesterday", "this-week", "this-month", "last-30-days", "all")

_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval `[start, end)` in UTC, with a label for people and the timezone it was cut in."""

    start: datetime
    end: datetime
    label: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(
                f"the period ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})"
            )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_unbounded(self) -> bool:
        return self.start <= _BEGINNING or self.end >= _FAR_FUTURE

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def elapsed_days(self, now: datetime) -> float:
        """Days of the period already past at `now` (0 before it starts, its length after it ends)."""
        end = min(max(now, self.start), self.end)
        return (end - self.start).total_seconds() / 86400

    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def _local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def named_period(name: str, now: datetime, tz: ZoneInfo) -> Period:
    """One of `PERIOD_NAMES` at `now` in `tz`. Weeks start on Monday; `last-30-days` includes today."""
    zone = str(tz.key)
    today = _local_today(now, tz)
    if name == "today":
        return Period(
            local_midnight(today, tz), local_midnight(today + timedelta(days=1), tz), f"Today ({today})", zone
        )
    if name == "yesterday":
        day = today - timedelta(days=1)
        return Period(local_midnight(day, tz), local_midnight(today, tz), f"Yesterday ({day})", zone)
    if name == "this-week":
        monday = today - timedelta(days=today.weekday())
        end = monday + timedelta(days=7)
        return Period(
            local_midnight(monday, tz),
            local_midnight(end, tz),
            f"This week ({monday} to {end - timedelta(days=1)})",
            zone,
        )
    if name == "this-month":
        first = month_start(today)
        return Period(
            local_midnight(first, tz),
            local_midnight(next_month_start(first), tz),
            f"{first.strftime('%B %Y')}",
            zone,
        )
    if name == "last-30-days":
        return last_days(30, now, tz)
    if name == "all":
        return Period(_BEGINNING, _FAR_FUTURE, "All time", zone)
    raise ValueError(f"unknown period {name!r}; choose one of {', '.join(PERIOD_NAMES)}")


def last_days(days: int, now: datetime, tz: ZoneInfo) -> Period:
    """The last `days` local calendar days, today included."""
    if days < 1:
        raise ValueError("a period covers at least one day")
    today = _local_today(now, tz)
    first = today - timedelta(days=days - 1)
    return Period(
        local_midnight(first, tz),
        local_midnight(today + timedelta(days=1), tz),
        f"Last {days} days ({first} to {today})",
        str(tz.key),
    )


def between(start: datetime | None, end: datetime | None, tz: ZoneInfo) -> Period:
    """An explicit range (either side open). Both bounds are aware datetimes; `end` is exclusive."""
    lo = start.astimezone(UTC) if start is not None else _BEGINNING
    hi = end.astimezone(UTC) if end is not None else _FAR_FUTURE

    def show(at: datetime, last: bool = False) -> str:
        # A local midnight reads as a day; an exclusive end at midnight as the last day it includes.
        local = at.astimezone(tz)
        if local.time() == time(0):
            return (local.date() - timedelta(days=1 if last else 0)).isoformat()
        return local.isoformat(timespec="seconds")

    if start is not None and end is not None:
        first, final = show(lo), show(hi, last=True)
        label = first if first == final else f"{first} to {final}"
    elif start is not None:
        label = f"Since {show(lo)}"
    elif end is not None:
        label = (
            f"Through {show(hi, last=True)}" if hi.astimezone(tz).time() == time(0) else f"Until {show(hi)}"
        )
    else:
        label = "All time"
    return Period(lo, hi, label, str(tz.key))


def previous_period(period: Period) -> Period | None:
    """The period just before `period`, of the same kind: the previous calendar month for a calendar month
    (or whole months), the same number of local days for a range of whole days, else the same length of
    time. None for an unbounded period (all time, `--from` alone)."""
    if period.is_unbounded:
        return None
    tz = period.tz
    first = period.start.astimezone(tz)
    last = period.end.astimezone(tz)
    zone = str(tz.key)
    if first.time() == time(0) and last.time() == time(0):
        start_day, end_day = first.date(), last.date()
        if start_day.day == 1 and end_day.day == 1:
            months = (end_day.year - start_day.year) * 12 + end_day.month - start_day.month
            index = start_day.year * 12 + start_day.month - 1 - months
            before = date(index // 12, index % 12 + 1, 1)
            final = start_day - timedelta(days=1)
            label = before.strftime("%B %Y") if months == 1 else f"{before} to {final}"
            return Period(local_midnight(before, tz), period.start, label, zone)
        days = (end_day - start_day).days
        before = start_day - timedelta(days=days)
        final = start_day - timedelta(days=1)
        label = str(before) if days == 1 else f"{before} to {final}"
        return Period(local_midnight(before, tz), period.start, label, zone)
    length = period.end - period.start
    return between(period.start - length, period.start, tz)


def local_bucket(at: datetime, kind: str, tz: ZoneInfo) -> str:
    """The local `hour` (`2026-11-23T14`), `day` (`2026-11-23`) or `month` (`2026-11`) label of an instant."""
    local = at.astimezone(tz)
    if kind == "hour":
        return local.strftime("%Y-%m-%dT%H")
    if kind == "day":
        return local.strftime("%Y-%m-%d")
    if kind == "month":
        return local.strftime("%Y-%m")
    raise ValueError(f"unknown time bucket {kind!r}")


def local_day_starts(period: Period, tz: ZoneInfo) -> list[date]:
    """Every local calendar day that overlaps the period, in order."""
    first = period.start.astimezone(tz).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def floor_hour(at: datetime) -> datetime:
    """The start of the UTC hour containing `at`."""
    utc = at.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    """The first UTC hour boundary at or after `at`."""
    floor = floor_hour(at)
    return floor if floor == at else floor + timedelta(hours=1)


def utc_iso(at: datetime) -> str:
    """`2026-11-23T14:05:00Z`."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
