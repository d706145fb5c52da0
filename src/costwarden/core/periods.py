"""Budget periods: calendar windows in a timezone, rolling windows by timestamp, per-run and lifetime.

A calendar period (`hour`, `day`, `week`, `month`) starts at the configured timezone's wall-clock boundary
(local midnight for `day`, Monday midnight for `week`, the 1st for `month`) and is keyed by that start in
UTC, so DST changes and late events land in the right window. A rolling window (`rolling: 5h`) is the last
N seconds before now; spend is kept in buckets of 1/30 of the window and a window counts every bucket it
touches (it may include up to one bucket more than the exact window: conservative, never short).
`total` never resets; `run` never resets either, but every run gets its own counters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from costwarden.core.limits import MAX_DURATION_SECONDS

__all__ = [
    "PeriodKind",
    "Period",
    "Window",
    "parse_duration",
    "format_duration",
    "ROLLING_BUCKETS",
    "local_midnight",
    "month_start",
    "next_month_start",
]

ROLLING_BUCKETS = 30
"""A rolling window is kept in this many buckets (plus the one in progress)."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `tz`."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month_start(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def parse_duration(value: object, what: str = "duration") -> float:
    """Seconds from `30`, `30s`, `1.5m`, `5h`, `2d`, `1w` (a bare number is seconds), at most 366 days.
    Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected a {what} such as 30s, 5m or 5h, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    else:
        raise ValueError(f"expected a {what} such as 30s, 5m or 5h, got {value!r}")
    if not seconds > 0:  # also NaN
        raise ValueError(f"expected a positive {what}, got {value!r}")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"expected a {what} of at most 366 days, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: 18000 -> `5h`, 90 -> `90s`."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class PeriodKind(StrEnum):
    """How a budget's counters reset."""

    RUN = "run"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"
    ROLLING = "rolling"


@dataclass(frozen=True, slots=True)
class Window:
    """One period instance: `start <= t < end` (UTC; None when open-ended) and the key of its counters.

    For rolling windows `key` names the bucket in progress and `keys` every bucket the window covers (oldest
    first); for other periods `keys == (key,)`.
    """

    key: str
    start: datetime | None
    end: datetime | None
    keys: tuple[str, ...]

    def contains(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True)
class Period:
    """A budget period. Build with `Period.parse("day")` or `Period.parse("rolling: 5h")`."""

    kind: PeriodKind
    seconds: float = 0.0
    """Length of a rolling window (0 for other kinds)."""

    @classmethod
    def parse(cls, value: object) -> Period:
        """`run`, `hour`, `day`, `week`, `month`, `total`, `rolling: 5h` / `rolling 5h` / {rolling: 5h}."""
        if isinstance(value, Period):
            return value
        if isinstance(value, dict) and len(value) == 1 and "rolling" in value:
            return cls(PeriodKind.ROLLING, parse_duration(value["rolling"], "rolling window"))
        if isinstance(value, str):
            text = value.strip().lower()
            if text.startswith("rolling"):
                rest = text[len("rolling") :].lstrip(" :")
                return cls(PeriodKind.ROLLING, parse_duration(rest, "rolling window"))
            for kind in PeriodKind:
                if text == kind.value and kind is not PeriodKind.ROLLING:
                    return cls(kind)
        choices = ", ".join(k.value for k in PeriodKind if k is not PeriodKind.ROLLING)
        raise ValueError(f"expected a period ({choices} or 'rolling: 5h'), got {value!r}")

    @property
    def label(self) -> str:
        """`day`, `rolling 5h`, ... as people read it."""
        if self.kind is PeriodKind.ROLLING:
            return f"rolling {format_duration(self.seconds)}"
        return self.kind.value

    @property
    def spelled(self) -> str:
        """The config spelling (`rolling: 5h` for rolling windows)."""
        if self.kind is PeriodKind.ROLLING:
            return f"rolling: {format_duration(self.seconds)}"
        return self.kind.value

    @property
    def resets(self) -> bool:
        """False for `total` and `run`: spend there never comes back."""
        return self.kind not in (PeriodKind.TOTAL, PeriodKind.RUN)

    @property
    def bucket_seconds(self) -> float:
        return max(1.0, self.seconds / ROLLING_BUCKETS) if self.kind is PeriodKind.ROLLING else 0.0

    def window(self, at: datetime, tz: ZoneInfo) -> Window:
        """The window holding `at` (an aware datetime), calendar boundaries taken in `tz`."""
        kind = self.kind
        if kind in (PeriodKind.TOTAL, PeriodKind.RUN):
            return Window(kind.value, None, None, (kind.value,))
        if kind is PeriodKind.ROLLING:
            size = self.bucket_seconds
            now = (at - _EPOCH).total_seconds()
            current = int(now // size)
            first = int((now - self.seconds) // size)
            keys = tuple(f"r{size:g}:{i}" for i in range(first, current + 1))
            return Window(keys[-1], _EPOCH + timedelta(seconds=first * size), None, keys)
        local = at.astimezone(tz)
        if kind is PeriodKind.HOUR:
            start_local = local.replace(minute=0, second=0, microsecond=0)
            start = start_local.astimezone(UTC)
            end = start + timedelta(hours=1)
        else:
            day = local.date()
            if kind is PeriodKind.WEEK:
                day = day - timedelta(days=day.weekday())
                next_day = day + timedelta(days=7)
            elif kind is PeriodKind.MONTH:
                day = day.replace(day=1)
                next_day = (day + timedelta(days=32)).replace(day=1)
            else:
                next_day = day + timedelta(days=1)
            start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
            end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=tz).astimezone(UTC)
        key = f"{kind.value[0]}:{start:%Y-%m-%dT%H:%M}"
        return Window(key, start, end, (key,))

    def bucket_key(self, at: datetime, tz: ZoneInfo) -> str:
        """The counter key an event at `at` is counted under (the bucket for rolling windows)."""
        if self.kind is PeriodKind.ROLLING:
            size = self.bucket_seconds
            return f"r{size:g}:{int((at - _EPOCH).total_seconds() // size)}"
        return self.window(at, tz).key

    def bucket_end(self, key: str) -> datetime | None:
        """When the spend counted under a rolling bucket `key` leaves the window (None for other periods)."""
        if self.kind is not PeriodKind.ROLLING:
            return None
        size = self.bucket_seconds
        index = int(key.rpartition(":")[2])
        return _EPOCH + timedelta(seconds=(index + 1) * size + self.seconds)
