"""Configured price sets: rates per million tokens, long-context tiers, dated sets, and their raw form.

Money fields are exact Decimals per million tokens (per thousand for `web_search` and `request`).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from costwarden.core.config_fields import ConfigDate, Money, StrictSection
from costwarden.pricing.rates import RawPrice

__all__ = [
    "RATE_NAMES",
    "RateFields",
    "PriceTier",
    "PriceRates",
    "DatedPrices",
    "check_tiers",
    "raw_prices",
]

RATE_NAMES: tuple[str, ...] = (
    "input",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "output",
    "reasoning",
    "web_search",
    "request",
)
"""Rate fields of a price set: per million tokens, except `web_search` and `request` (per thousand)."""


class RateFields(StrictSection):
    """Optional rates. Tokens: USD per million; `web_search` and `request`: USD per thousand."""

    input: Money | None = None
    cache_read: Money | None = None
    cache_write: Money | None = None
    """5-minute cache writes."""
    cache_write_1h: Money | None = None
    output: Money | None = None
    reasoning: Money | None = None
    """Reasoning tokens (a part of output) when they are priced apart; else they pay `output`."""
    web_search: Money | None = None
    request: Money | None = None

    def given_rates(self) -> dict[str, Decimal]:
        """The rates set in this object, by name."""
        return {name: value for name in RATE_NAMES if (value := getattr(self, name)) is not None}


class PriceTier(RateFields):
    """A long-context tier (cliff): when a call's total input exceeds the threshold, ALL its tokens pay
    these rates. Rates not given keep the base rate."""

    above_input_tokens: int = Field(gt=0)


def check_tiers(tiers: list[PriceTier]) -> list[PriceTier]:
    """The tiers sorted by threshold; raises ValueError when two start at the same threshold."""
    seen: set[int] = set()
    for tier in tiers:
        if tier.above_input_tokens in seen:
            raise ValueError(f"two tiers start above {tier.above_input_tokens} input tokens")
        seen.add(tier.above_input_tokens)
    return sorted(tiers, key=lambda tier: tier.above_input_tokens)


class PriceRates(RateFields):
    """A full price set: `input` and `output` are required; cache rates not given pay `input`
    (5-minute writes) or `cache_write` (1-hour writes), as in the catalog."""

    input: Money
    output: Money
    tiers: list[PriceTier] = Field(default_factory=list)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: list[PriceTier]) -> list[PriceTier]:
        return check_tiers(value)


class DatedPrices(PriceRates):
    """A full price set that applies from `effective_from` (UTC date) on."""

    effective_from: ConfigDate


def raw_prices(rates: RateFields, tiers: list[PriceTier] | None) -> dict[str, RawPrice]:
    """Raw rates of a configured price set: each rate's base and the tiers that give it."""
    out: dict[str, RawPrice] = {}
    for name in RATE_NAMES:
        base: Decimal | None = getattr(rates, name)
        steps = tuple(
            (tier.above_input_tokens, price)
            for tier in tiers or ()
            if (price := getattr(tier, name)) is not None
        )
        if base is not None or steps:
            out[name] = (base, steps)
    return out
