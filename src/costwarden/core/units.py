"""The unit of each budget limit, so every view says what a number counts: USD, tokens, requests, or
concurrent calls or runs (a `max_concurrent` budget with `concurrency: runs` counts runs).

Storage keeps one integer per dimension (`cost` in 10^-10 USD, the others as counts); `amount` turns it into
the figure people read (Decimal USD, or a whole count) and `spell` writes it with its unit.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from costwarden.core.money import format_usd, from_units

__all__ = ["Unit", "unit_of", "amount", "spell", "short_count"]


class Unit(StrEnum):
    """What a limit counts; the value is its name in JSON (`"unit": "requests"`)."""

    USD = "cost_usd"
    TOKENS = "tokens"
    REQUESTS = "requests"
    CONCURRENT_CALLS = "concurrent_calls"
    CONCURRENT_RUNS = "concurrent_runs"

    @property
    def is_money(self) -> bool:
        return self is Unit.USD

    @property
    def noun(self) -> str:
        """The plural noun: `tokens`, `requests`, `concurrent calls`, `concurrent runs` (`USD` for money)."""
        return "USD" if self is Unit.USD else self.value.replace("_", " ")


_BY_DIMENSION = {"cost": Unit.USD, "tokens": Unit.TOKENS, "requests": Unit.REQUESTS}


def unit_of(dimension: str, concurrency: str = "calls") -> Unit:
    """The unit of a budget dimension (`cost`, `tokens`, `requests`, `concurrent`); `concurrency` is the
    budget's `concurrency:` (`calls` or `runs`)."""
    if dimension == "concurrent":
        return Unit.CONCURRENT_RUNS if concurrency == "runs" else Unit.CONCURRENT_CALLS
    return _BY_DIMENSION[dimension]


def amount(unit: Unit, units: int) -> Decimal:
    """A stored quantity as people read it: USD for money, the count otherwise."""
    return from_units(units) if unit.is_money else Decimal(units)


def short_count(count: int) -> str:
    """Short counts: `950`, `32K`, `8.5K`, `5.5M`, `1.2B`."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if count >= size:
            value = count / size
            text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return f"{text.removesuffix('.0')}{suffix}"
    return str(count)


def spell(unit: Unit, value: Decimal | int, *, short: bool = False) -> str:
    """`$12.50`, `12,000 tokens` (`12K tokens` when `short`), `1 request`, `3 concurrent runs`."""
    if unit.is_money:
        return format_usd(Decimal(value))
    count = int(value)
    noun = unit.noun.removesuffix("s") if count == 1 else unit.noun
    return f"{short_count(count) if short else f'{count:,}'} {noun}"
