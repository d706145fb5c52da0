"""Exact money: Decimal at the edges, integers of `COST_UNIT` in storage.

One storage unit is 10^-10 USD. Every real per-token price published with up to four decimals per million
tokens is exact at that unit; costs are computed exactly in Decimal and rounded once per event
(half-even) to the unit, so a sum of stored events is always exact.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from costwarden.core.limits import MAX_USD
from costwarden.errors import ValidationError

__all__ = [
    "COST_SCALE",
    "COST_UNIT",
    "ZERO",
    "to_units",
    "from_units",
    "money_amount",
    "parse_money",
    "format_usd",
]

COST_SCALE = 10**10
COST_UNIT = Decimal(1).scaleb(-10)
ZERO = Decimal(0)
_ONE = Decimal(1)
_CENT = Decimal("0.01")


def to_units(amount: Decimal) -> int:
    """Round a USD amount to an integer count of storage units (10^-10 USD), half-even."""
    return int((amount * COST_SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_units(units: int) -> Decimal:
    """Turn an integer count of storage units back into an exact USD Decimal (never in exponent form:
    `20`, not `2E+1`)."""
    if not units:
        return ZERO
    amount = Decimal(units).scaleb(-10).normalize()
    return amount.quantize(_ONE) if amount.as_tuple().exponent > 0 else amount  # type: ignore[operator]


def money_amount(units: int) -> Decimal:
    """An exact USD Decimal with at least cent places, as people read money: `20.00`, `0.0125`."""
    amount = from_units(units)
    exponent = amount.as_tuple().exponent
    return amount.quantize(_CENT) if isinstance(exponent, int) and exponent > -2 else amount


def parse_money(value: object, field: str) -> Decimal:
    """Parse a user-supplied amount (str, int, Decimal; float via its shortest repr) as USD.

    Refuses NaN, infinities, negatives, amounts above $100,000,000 (`MAX_USD`) and booleans, naming `field`.
    """
    if isinstance(value, bool):
        raise ValidationError(field, f"expected an amount in USD, got {value!r}")
    try:
        if isinstance(value, Decimal):
            amount = value
        elif isinstance(value, int | str):
            amount = Decimal(str(value).strip())
        elif isinstance(value, float):
            amount = Decimal(repr(value))
        else:
            raise ValidationError(field, f"expected an amount in USD, got {type(value).__name__}")
    except InvalidOperation:
        raise ValidationError(field, f"expected an amount in USD, got {value!r}") from None
    if not amount.is_finite():
        raise ValidationError(field, f"expected a finite amount, got {value!r}")
    if amount < 0:
        raise ValidationError(field, f"expected a non-negative amount, got {value!r}")
    if amount > MAX_USD:
        raise ValidationError(field, f"expected at most $100,000,000, got {value!r}")
    return amount


def format_usd(amount: Decimal, places: int = 2) -> str:
    """Format for people: `$12.50`, and small non-zero amounts with enough digits to be seen."""
    if amount != 0 and abs(amount) < Decimal(1).scaleb(-places):
        return f"${amount.normalize():f}"
    q = Decimal(1).scaleb(-places)
    return f"${amount.quantize(q, rounding=ROUND_HALF_EVEN):,}"
