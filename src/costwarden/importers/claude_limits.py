"""Claude Code's "usage limit reached" lines -> quota readings (limit hits) of provider `anthropic`.

When a subscription's window runs out, Claude Code writes a synthetic assistant message (`model:
"<synthetic>"`, `isApiErrorMessage: true`) into the transcript whose text says so, in one of the shapes
its versions used:

- `Claude AI usage limit reached|1765836000` (the reset as epoch seconds);
- `5-hour limit reached ∙ resets 3pm` / `Weekly limit reached ∙ resets Oct 9, 2pm` (a wall-clock time);
- `Claude usage limit reached. Your limit will reset at 3pm (Europe/Berlin).`

Each becomes a reading of the window it names (`unified-5h` for the 5-hour limit, `unified-7d` for a
weekly one, `limit` when it names none) with utilization 1.0, status `exhausted` and the reset it states:
an epoch as given, a wall-clock time as its next occurrence after the line's time, in the timezone in
parentheses when there is one, else UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from costwarden.core.limits import MAX_DATE, MIN_DATE
from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow

__all__ = ["limit_hit", "LIMIT_TEXT"]

LIMIT_TEXT = re.compile(r"limit reached", re.IGNORECASE)
_EPOCH = re.compile(r"limit reached\|(\d{9,11})")
_CLOCK = re.compile(
    r"resets?(?: at)?\s+(?:(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2}),?\s+)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm)?(?:\s*\((?P<tz>[^)]+)\))?",
    re.IGNORECASE,
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _window(text: str) -> str:
    low = text.lower()
    if "5-hour" in low or "5 hour" in low or "session limit" in low:
        return "unified-5h"
    if "weekly" in low or "7-day" in low:
        return "unified-7d"
    return "limit"


def _zone(name: str | None) -> ZoneInfo:
    if name:
        try:
            return ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _reset(text: str, at: datetime) -> datetime | None:
    if match := _EPOCH.search(text):
        epoch = int(match.group(1))
        if MIN_DATE.timestamp() <= epoch < MAX_DATE.timestamp():
            return datetime.fromtimestamp(epoch, UTC)
        return None
    match = _CLOCK.search(text)
    if match is None:
        return None
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    ampm = (match.group("ampm") or "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    tz = _zone(match.group("tz"))
    local = at.astimezone(tz)
    if match.group("month"):
        month_name = match.group("month").lower()
        if month_name not in _MONTHS:
            return None
        month, day = _MONTHS.index(month_name) + 1, int(match.group("day"))
        for year in (local.year, local.year + 1):
            try:
                candidate = datetime(year, month, day, hour, minute, tzinfo=tz)
            except ValueError:
                return None
            if candidate > local:
                return candidate.astimezone(UTC)
        return None
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def limit_hit(text: str, at: datetime) -> QuotaSnapshot | None:
    """The reading of one "limit reached" message written at `at`, or None when the text is no such
    message."""
    if not LIMIT_TEXT.search(text) or len(text) > 2000:
        return None
    name = _window(text)
    window = QuotaWindow(name=name, utilization=1.0, status="exhausted", reset_at=_reset(text, at))
    return QuotaSnapshot(provider="anthropic", observed_at=at, windows={name: window}, source="claude-code")
