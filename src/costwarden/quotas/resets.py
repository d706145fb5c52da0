"""When a quota window resets: rolling (the last N hours), fixed daily / weekly / monthly at an anchor time
in a timezone, or never (prepaid credits).

Spelled in config as one string (or a mapping with the same words):

    reset: rolling 5h              # the last 5 hours, sliding
    reset: daily 09:00             # every day at 09:00 (the window's timezone)
    reset: weekly thu 22:59        # every Thursday at 22:59
    reset: monthly 15              # the 15th at 00:00 (a short month: its last day)
    reset: never                   # prepaid credits, a lifetime cap

`ResetRule.window(at, tz)` gives the window holding `at`: `[start, end)` for fixed rules (both aware UTC),
`[at - length, at]` with no end for a rolling rule, `(None, None)` for `never`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from costwarden.core.periods import format_duration, parse_duration

__all__ = ["ResetKind", "ResetRule", "parse_reset"]

ResetKind = Literal["rolling", "daily", "weekly", "monthly", "never"]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_EXAMPLES = "rolling 5h, daily 09:00, weekly mon 00:00, monthly 1 00:00 or never"


@dataclass(frozen=True, slots=True)
class ResetRule:
    """A parsed reset rule (see the module docstring)."""

    kind: ResetKind
    seconds: float = 0.0
    """Rolling windows: their length."""
    at: time = time(0, 0)
    """Fixed windows: the wall-clock time of the reset."""
    weekday: int = 0
    """Weekly windows: Monday 0 .. Sunday 6."""
    day: int = 1
    """Monthly windows: the day of the month (a month without it resets on its last day)."""

    @property
    def spelled(self) -> str:
        """The config spelling (`rolling 5h`, `weekly thu 22:59`)."""
        clock = f"{self.at:%H:%M}"
        if self.kind == "rolling":
            return f"rolling {format_duration(self.seconds)}"
        if self.kind == "daily":
            return f"daily {clock}"
        if self.kind == "weekly":
            return f"weekly {_DAYS[self.weekday]} {clock}"
        if self.kind == "monthly":
            return f"monthly {self.day} {clock}"
        return "never"

    @property
    def fixed(self) -> bool:
        """True for daily, weekly and monthly windows (a start and an end; a pace to project)."""
        return self.kind in ("daily", "weekly", "monthly")

    def window(self, at: datetime, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """The window holding `at` (aware): fixed rules `[start, end)` with boundaries at the anchor in
        `tz`; rolling `(at - length, None)`; never `(None, None)`."""
        if self.kind == "never":
            return None, None
        if self.kind == "rolling":
            return at - timedelta(seconds=self.seconds), None
        local = at.astimezone(tz)
        start = self._boundary_at_or_before(local, tz)
        end = self._next_boundary(start.astimezone(tz), tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def _anchor(self, year: int, month: int, day: int, tz: ZoneInfo) -> datetime:
        return datetime(year, month, day, self.at.hour, self.at.minute, tzinfo=tz)

    def _month_anchor(self, year: int, month: int, tz: ZoneInfo) -> datetime:
        last = calendar.monthrange(year, month)[1]
        return self._anchor(year, month, min(self.day, last), tz)

    def _boundary_at_or_before(self, local: datetime, tz: ZoneInfo) -> datetime:
        if self.kind == "daily":
            candidate = self._anchor(local.year, local.month, local.day, tz)
            if candidate > local:
                day = local.date() - timedelta(days=1)
                candidate = self._anchor(day.year, day.month, day.day, tz)
            return candidate
        if self.kind == "weekly":
            day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
            candidate = self._anchor(day.year, day.month, day.day, tz)
            if candidate > local:
                day -= timedelta(days=7)
                candidate = self._anchor(day.year, day.month, day.day, tz)
            return candidate
        candidate = self._month_anchor(local.year, local.month, tz)
        if candidate > local:
            year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
            candidate = self._month_anchor(year, month, tz)
        return candidate

    def _next_boundary(self, start: datetime, tz: ZoneInfo) -> datetime:
        if self.kind == "daily":
            day = start.date() + timedelta(days=1)
            return self._anchor(day.year, day.month, day.day, tz)
        if self.kind == "weekly":
            day = start.date() + timedelta(days=7)
            return self._anchor(day.year, day.month, day.day, tz)
        year, month = (start.year, start.month + 1) if start.month < 12 else (start.year + 1, 1)
        return self._month_anchor(year, month, tz)


def _clock(text: str, given: object) -> time:
    match = _TIME.match(text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day such as 09:00 in reset rule {given!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_reset(value: object) -> ResetRule:
    """A `ResetRule` from its config spelling (`rolling 5h`, `daily 09:00`, `weekly thu 22:59`,
    `monthly 15 00:00`, `never`, or a one-key mapping such as `{rolling: 5h}`). Raises ValueError naming
    what was expected."""
    if isinstance(value, ResetRule):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, rest),) = value.items()
        value = f"{key} {'' if rest is None else rest}".strip()
    if not isinstance(value, str):
        raise ValueError(f"expected a reset rule ({_EXAMPLES}), got {value!r}")
    words = (
        value.replace(":", " ", 1).split() if value.strip().lower().startswith("rolling:") else value.split()
    )
    if not words:
        raise ValueError(f"expected a reset rule ({_EXAMPLES}), got {value!r}")
    kind, rest = words[0].lower(), words[1:]
    if kind == "never" and not rest:
        return ResetRule("never")
    if kind == "rolling":
        if len(rest) != 1:
            raise ValueError(f"expected `rolling` and a duration such as 5h, got {value!r}")
        return ResetRule("rolling", seconds=parse_duration(rest[0], "rolling window"))
    if kind == "daily":
        if len(rest) > 1:
            raise ValueError(f"expected `daily` and a time such as 09:00, got {value!r}")
        return ResetRule("daily", at=_clock(rest[0], value) if rest else time(0, 0))
    if kind == "weekly":
        if not rest or len(rest) > 2 or rest[0].lower()[:3] not in _DAYS:
            raise ValueError(
                f"expected `weekly`, a weekday (mon .. sun) and a time such as 09:00, got {value!r}"
            )
        weekday = _DAYS.index(rest[0].lower()[:3])
        return ResetRule(
            "weekly", weekday=weekday, at=_clock(rest[1], value) if len(rest) > 1 else time(0, 0)
        )
    if kind == "monthly":
        if len(rest) > 2 or (rest and not rest[0].isdigit()) or (rest and not 1 <= int(rest[0]) <= 31):
            raise ValueError(f"expected `monthly`, a day 1..31 and a time such as 00:00, got {value!r}")
        day = int(rest[0]) if rest else 1
        return ResetRule("monthly", day=day, at=_clock(rest[1], value) if len(rest) > 1 else time(0, 0))
    raise ValueError(f"expected a reset rule ({_EXAMPLES}), got {value!r}")
