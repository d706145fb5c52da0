"""Field types shared by configuration sections: exact money, calendar dates, the strict section base.

Money fields are exact Decimals; floats read from YAML become the Decimal of their shortest repr
(`0.1` -> `Decimal('0.1')`), never a binary float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from costwarden.core.money import parse_money
from costwarden.errors import ValidationError

__all__ = ["Money", "ConfigDate", "Name", "Section", "StrictSection", "check_timezone"]


def _money(value: object) -> Decimal:
    try:
        return parse_money(value, "amount")
    except ValidationError as exc:
        raise ValueError(str(exc).removeprefix(f"{exc.field}: ")) from None


def _date(value: object) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"expected a date such as 2026-06-01, got the date and time {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date such as 2026-06-01, got {value!r}")


Money = Annotated[Decimal, BeforeValidator(_money)]
"""A finite, non-negative USD amount; str, int, Decimal or float (via its repr) accepted."""
ConfigDate = Annotated[date, BeforeValidator(_date)]
"""A calendar date (UTC): a date object or an ISO string `YYYY-MM-DD`."""
Name = Annotated[str, Field(min_length=1, max_length=200)]
"""A provider or model name as configured: 1 to 200 characters."""


def check_timezone(value: str | None) -> str | None:
    """An IANA timezone name as configured (None passes); a ValueError naming it when unknown."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name such as UTC or Europe/Berlin)"
        ) from None
    return value


class Section(BaseModel):
    """A config model that refuses unknown keys, frozen once built (values are coerced as pydantic does:
    `"5"` is accepted for 5)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class StrictSection(BaseModel):
    """A config model that refuses unknown keys and coerces nothing (strict), frozen once built."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
