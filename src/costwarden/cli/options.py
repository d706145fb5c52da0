"""Parsers shared by commands: dates and datetimes, and the usage error of a bad question."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from costwarden.views import periods
from costwarden.views.errors import QueryError

__all__ = ["parse_when", "bad_parameter"]


def bad_parameter(exc: QueryError) -> typer.BadParameter:
    """The usage error (exit 2) for the flag a `QueryError` of `costwarden.views` names."""
    return typer.BadParameter(exc.message, param_hint=exc.option)


def parse_when(value: str, flag: str, tz: ZoneInfo | None = None) -> datetime:
    """An ISO-8601 date or datetime (`costwarden.views.periods.parse_when`); a malformed value or a date
    outside 2000-01-01 .. 2099-12-31 is a usage error naming `flag`."""
    try:
        return periods.parse_when(value, flag, tz)
    except QueryError as exc:
        raise bad_parameter(exc) from None
