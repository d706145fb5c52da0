"""The one clock: everything in costwarden that asks "what time is it?" asks a `Clock`.

The Warden, the budget engine, the CLI, reports, retention, alerts, insights and quotas all take the same
clock object, so a test (or a script that wants reproducible reports) can stand on any date:

    from datetime import UTC, datetime
    from costwarden import Warden
    from costwarden.clock import FixedClock

    clock = FixedClock(datetime(2028, 2, 29, 23, 30, tzinfo=UTC))
    warden = Warden(clock=clock)          # records, admissions, periods and reports all use it
    clock.advance(3600)                   # an hour later: the budget period has rolled over

`COSTWARDEN_NOW` (an ISO-8601 datetime; without an offset it is UTC) fixes "now" for a whole process;
it is read here and nowhere else (`clock_from_env`). A function called without a clock or a `now=`
(`build_report`, `apply_retention`, ...) asks `default_now()`, which honours it too.

Not "now" and so not the clock's: durations and timeouts (`time.monotonic`), and the storage's own
bookkeeping stamps (when a row was written, a migration applied, a definition changed), which are the
system's wall time (`SYSTEM_CLOCK`) even under `COSTWARDEN_NOW`, so change detection keeps working.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable

from costwarden.errors import ConfigError

__all__ = [
    "NOW_ENV",
    "Clock",
    "SystemClock",
    "FixedClock",
    "SYSTEM_CLOCK",
    "clock_from_env",
    "parse_now",
    "default_now",
    "wall_time_ns",
]

NOW_ENV = "COSTWARDEN_NOW"


@runtime_checkable
class Clock(Protocol):
    """A source of the current time: `now()` as an aware UTC datetime, `clock()` as epoch seconds."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def __call__(self) -> float:
        """The current time in seconds since the epoch (what `time.time()` returns)."""
        ...


class SystemClock:
    """The operating system's clock."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __call__(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
"""The system clock (stateless; one instance is enough)."""


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a clock needs a timezone-aware datetime, got {at.isoformat()}")
    return at.astimezone(UTC)


class FixedClock:
    """A clock that stands still until it is set or advanced (tests, reproducible reports).

    It is shared by reference: set it and every part built with it (Warden, engine, reports) sees the
    new time at once.
    """

    __slots__ = ("_at",)

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        return self._at

    def __call__(self) -> float:
        return self._at.timestamp()

    @property
    def at(self) -> datetime:
        """The time the clock shows (UTC)."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to `at` (aware; any direction)."""
        self._at = _aware(at)

    def advance(self, delta: float | timedelta) -> None:
        """Move the clock forward by `delta` (seconds or a timedelta; negative moves it back)."""
        self._at += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


def parse_now(value: str) -> datetime:
    """Read a `COSTWARDEN_NOW` value: an ISO-8601 datetime (no offset: UTC) or a date (its UTC midnight)."""
    text = value.strip()
    try:
        if len(text) <= 10 and "T" not in text:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"expected an ISO-8601 datetime such as 2026-11-23T14:05:00Z, got {value!r}", key=NOW_ENV
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def clock_from_env(environ: Mapping[str, str] | None = None) -> Clock:
    """A `FixedClock` at `$COSTWARDEN_NOW` when it is set (not empty), else the system clock."""
    value = (os.environ if environ is None else environ).get(NOW_ENV, "")
    if value.strip():
        return FixedClock(parse_now(value))
    return SYSTEM_CLOCK


def wall_time_ns() -> int:
    """The system's wall time in nanoseconds, for ordering generated ids and bookkeeping stamps only
    (never "now" in the sense of periods and reports: that is a `Clock`'s)."""
    return time.time_ns()


def default_now() -> datetime:
    """ "Now" for code that was given no clock: `$COSTWARDEN_NOW` when set, else the system time."""
    return clock_from_env().now()
