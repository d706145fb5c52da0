"""Terminal charts: horizontal bars with eighth-block precision, and the time series they draw."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from costwarden.reports.periods import Period, local_day_starts
from costwarden.storage.ledger import Totals
from costwarden.storage.totals import empty_totals, regroup

__all__ = ["bar", "series", "INTERVALS", "WEEKDAYS", "by_hour_of_day", "by_weekday"]

_EIGHTHS = " ▏▎▍▌▋▊▉"
INTERVALS: tuple[str, ...] = ("day", "week", "month")
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def bar(value: Decimal, largest: Decimal, width: int) -> str:
    """A bar of `width` cells for `value` on a scale where `largest` fills it (empty for zero)."""
    if largest <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = int(value * width * 8 / largest)
    eighths = max(eighths, 1)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _bucket_of(day: date, interval: str) -> str:
    if interval == "day":
        return day.isoformat()
    if interval == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.strftime("%Y-%m")


def series(rows_by_day: Sequence[Totals], period: Period, interval: str) -> list[Totals]:
    """Rows keyed by local day (`YYYY-MM-DD`; for `month` also by local month) summed per `interval` (weeks
    start on Monday and are keyed by their Monday), with every bucket of the period present (zeros where
    nothing was spent)."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; choose {', '.join(INTERVALS)}")

    def bucket(key: tuple[str | None, ...]) -> tuple[str | None, ...]:
        label = str(key[0])
        return (label[:7],) if interval == "month" else (_bucket_of(date.fromisoformat(label), interval),)

    summed = {row.key: row for row in regroup(rows_by_day, bucket)}
    if period.is_unbounded:
        if not rows_by_day:
            return []
        labels = sorted(str(row.key[0]) for row in rows_by_day)
        first, last = (date.fromisoformat(f"{x}-01" if len(x) == 7 else x) for x in (labels[0], labels[-1]))
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    else:
        days = local_day_starts(period, period.tz)
    out: list[Totals] = []
    seen: set[str] = set()
    for day in days:
        key = _bucket_of(day, interval)
        if key in seen:
            continue
        seen.add(key)
        out.append(summed.get((key,), empty_totals((key,))))
    return out


def by_hour_of_day(rows_by_hour: Sequence[Totals]) -> list[Totals]:
    """Rows keyed by local hour (`YYYY-MM-DDTHH`) summed per hour of the day: 24 rows `00` .. `23`."""
    summed = {row.key: row for row in regroup(rows_by_hour, lambda k: (str(k[0])[11:13],))}
    return [summed.get((f"{h:02d}",), empty_totals((f"{h:02d}",))) for h in range(24)]


def by_weekday(rows_by_day: Sequence[Totals]) -> list[Totals]:
    """Rows keyed by local day summed per weekday: 7 rows `Mon` .. `Sun`."""
    summed = {
        row.key: row
        for row in regroup(rows_by_day, lambda k: (WEEKDAYS[date.fromisoformat(str(k[0])).weekday()],))
    }
    return [summed.get((name,), empty_totals((name,))) for name in WEEKDAYS]
