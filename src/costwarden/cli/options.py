"""Parsers shared by commands: dates, datetimes and output formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import typer

from costwarden.core.limits import date_in_range, date_range_message

__all__ = ["parse_when", "parse_day_start", "is_date"]


def is_date(value: str) -> bool:
    """Whether `value` is an ISO-8601 calendar date without a time (2026-11-23, 20261123, 2026-W48-1)."""
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def parse_when(value: str, flag: str, tz: ZoneInfo | None = None) -> datetime:
    """An ISO-8601 date or datetime; without an offset it is read in `tz` (default UTC). Dates outside
    2000-01-01 .. 2099-12-31 (`costwarden.core.limits`) are a usage error naming `flag`."""
    zone = tz or ZoneInfo("UTC")
    text = value.strip()
    try:
        if is_date(text):
            parsed = datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=zone)
    except ValueError:
        raise typer.BadParameter(
            f"expected an ISO-8601 date or datetime (2026-11-23 or 2026-11-23T14:05:00+01:00), got {value!r}",
            param_hint=flag,
        ) from None
    try:
        at = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 with a positive offset
        at = None
    if at is None or not date_in_range(at):
        raise typer.BadParameter(date_range_message(parsed), param_hint=flag)
    return at


def parse_day_start(value: str, flag: str, tz: ZoneInfo | None = None) -> datetime:
    """Like parse_when; kept separate so callers read clearly when a bare date means start of day."""
    return parse_when(value, flag, tz)
