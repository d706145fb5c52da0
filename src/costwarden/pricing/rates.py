"""Resolved rates of one model at one time, and the exact integer arithmetic that prices a `Usage` with them.

A `ModelRates` holds *effective* rates: a slice the source does not price separately already carries the
rate it is billed at (cache reads and 5-minute writes without their own price pay `input`, 1-hour writes
without their own price pay `cache_write`, reasoning without its own price pays `output`), exactly as
genai-prices bills them.

`RateCard` turns the Decimal rates into integers over one power of ten so pricing an event is a handful
of int multiplications; the total is rounded once, half-even, to the storage unit (10^-10 USD).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from costwarden.core.usage import Usage

__all__ = [
    "SLICE_NAMES",
    "RateSource",
    "RawPrice",
    "ModelRates",
    "RateCard",
    "Slices",
    "build_rates",
    "hardware_units",
]

SLICE_NAMES: tuple[str, ...] = (
    "input",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "output",
    "web_search",
    "requests",
)
"""Keys of `CostBreakdown.slices` for token pricing; local providers add `hardware`."""

RateSource = Literal["catalog", "override", "custom", "local", "fallback"]

RawPrice = tuple[Decimal | None, tuple[tuple[int, Decimal], ...]]
"""A rate as a source states it: base price (None: not priced apart) and cliff tiers (start, price)."""

_ZERO = Decimal(0)
_THOUSAND = Decimal(1000)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class ModelRates:
    """Effective rates of a model: tokens in USD per million, `web_search` and `request` per thousand.

    `tiers` are long-context cliffs: `(threshold, rates)` where a call whose total input (uncached, cache
    reads and writes) exceeds `threshold` pays `rates` for ALL its tokens; the highest matching tier wins.
    """

    provider: str
    model: str
    source: RateSource
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    reasoning: Decimal
    web_search: Decimal = _ZERO
    request: Decimal = _ZERO
    tiers: tuple[tuple[int, ModelRates], ...] = ()
    price_ref: str = ""
    effective_from: date | None = None
    """First day (UTC) these rates apply, when they came with a date."""
    hardware_per_hour: Decimal | None = None
    """Local providers: cost per hour of call duration."""

    def blended_price(self, input_weight: int = 3, output_weight: int = 1) -> Decimal:
        """One price per million tokens for comparing models: `(3 * input + 1 * output) / 4` by default —
        a typical agent call reads about three tokens for every one it writes. Base (short-context) rates."""
        return (self.input * input_weight + self.output * output_weight) / (input_weight + output_weight)

    def for_input_tokens(self, total_input_tokens: int) -> ModelRates:
        """The rates a call with this much total input pays (its long-context tier, if any)."""
        for threshold, rates in reversed(self.tiers):
            if total_input_tokens > threshold:
                return rates
        return self

    def as_dict(self) -> dict[str, Decimal]:
        """The base rates by name."""
        return {
            "input": self.input,
            "cache_read": self.cache_read,
            "cache_write": self.cache_write,
            "cache_write_1h": self.cache_write_1h,
            "output": self.output,
            "reasoning": self.reasoning,
            "web_search": self.web_search,
            "request": self.request,
        }


def _at(raw: RawPrice | None, level: int | None) -> Decimal | None:
    """The price of `raw` for calls above `level` input tokens (None: base)."""
    if raw is None:
        return None
    base, tiers = raw
    price = base
    if level is not None:
        for start, tier_price in tiers:
            if start <= level:
                price = tier_price
    return price


def build_rates(
    raw: Mapping[str, RawPrice],
    *,
    provider: str,
    model: str,
    source: RateSource,
    price_ref: str,
    effective_from: date | None = None,
    hardware_per_hour: Decimal | None = None,
) -> ModelRates:
    """Effective `ModelRates` (with tiers) from raw rates keyed by `RATE_NAMES`."""
    levels = sorted({start for _, tiers in raw.values() for start, _ in tiers})

    def at(level: int | None) -> ModelRates:
        def get(name: str) -> Decimal | None:
            return _at(raw.get(name), level)

        input_rate = get("input") or _ZERO
        cache_write = get("cache_write")
        output = get("output") or _ZERO
        return ModelRates(
            provider=provider,
            model=model,
            source=source,
            input=input_rate,
            output=output,
            cache_read=_first(get("cache_read"), input_rate),
            cache_write=_first(cache_write, input_rate),
            cache_write_1h=_first(get("cache_write_1h"), cache_write, input_rate),
            reasoning=_first(get("reasoning"), output),
            web_search=get("web_search") or _ZERO,
            request=get("request") or _ZERO,
            price_ref=price_ref,
            effective_from=effective_from,
            hardware_per_hour=hardware_per_hour,
        )

    base = at(None)
    if not levels:
        return base
    tiers = tuple((level, at(level)) for level in levels)
    return replace(base, tiers=tiers)


def _first(*values: Decimal | None) -> Decimal:
    for value in values:
        if value is not None:
            return value
    return _ZERO


def _exponent(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite by construction
    return max(0, -exponent)


def _round_half_even(numerator: int, divisor: int) -> int:
    quotient, remainder = divmod(numerator, divisor)
    twice = 2 * remainder
    if twice > divisor or (twice == divisor and quotient & 1):
        quotient += 1
    return quotient


def hardware_units(duration_ms: int, per_hour: Decimal) -> tuple[int, Decimal]:
    """Storage units (rounded half-even) and the USD amount (a Decimal quotient) of `duration_ms`."""
    exponent = _exponent(per_hour)
    numerator = duration_ms * int(per_hour.scaleb(exponent)) * 10**10
    units = _round_half_even(numerator, 3_600_000 * 10**exponent)
    return units, Decimal(duration_ms) * per_hour / Decimal(3_600_000)


def _tidy(amount: Decimal) -> Decimal:
    """The same value without trailing zeros, and without an exponent for whole numbers (`10`, not `1E+1`)."""
    amount = amount.normalize()
    exponent = amount.as_tuple().exponent
    return amount.quantize(_ONE) if isinstance(exponent, int) and exponent > 0 else amount


class Slices(Mapping[str, Decimal]):
    """The cost slices of one event in USD, keyed by `SLICE_NAMES` (plus `hardware` for local providers).

    Held as exact integers and turned into Decimals on first access, so pricing an event stays cheap;
    it compares equal to (and pickles as) a plain dict.
    """

    __slots__ = ("_dict", "_hardware", "_neg", "_numerators")

    def __init__(
        self, numerators: tuple[int, ...], neg_exponent: int, hardware: Decimal | None = None
    ) -> None:
        self._numerators = numerators
        self._neg = neg_exponent
        self._hardware = hardware
        self._dict: dict[str, Decimal] | None = None

    def as_dict(self) -> dict[str, Decimal]:
        """The slices as a plain dict (a new one each call)."""
        return dict(self._values())

    def _values(self) -> dict[str, Decimal]:
        values = self._dict
        if values is None:
            neg = self._neg
            values = {
                name: _tidy(Decimal(numerator).scaleb(neg)) if numerator else _ZERO
                for name, numerator in zip(SLICE_NAMES, self._numerators, strict=True)
            }
            if self._hardware is not None:
                values["hardware"] = self._hardware
            self._dict = values
        return values

    def __getitem__(self, key: str) -> Decimal:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._numerators) + (self._hardware is not None)

    def __contains__(self, key: object) -> bool:
        return key in self._values()

    # The dict's own views: iterating them costs no Python call per slice (storing an event reads them all).
    def items(self) -> ItemsView[str, Decimal]:
        return self._values().items()

    def keys(self) -> KeysView[str]:
        return self._values().keys()

    def values(self) -> ValuesView[Decimal]:
        return self._values().values()

    def __repr__(self) -> str:
        return repr(self._values())

    def __reduce__(self) -> tuple[type[dict[str, Decimal]], tuple[dict[str, Decimal]]]:
        return (dict, (self.as_dict(),))


@dataclass(slots=True)
class RateCard:
    """`ModelRates` as integers over `10^-(exponent + 6)` USD per token, ready for the hot path."""

    rates: ModelRates
    cost_source_unpriced: bool = False
    exponent: int = 0
    ints: tuple[int, ...] = ()
    tiers: tuple[tuple[int, RateCard], ...] = ()
    _unit_shift: int = 0
    _neg: int = 0
    hardware: Decimal | None = field(default=None)

    @classmethod
    def of(cls, rates: ModelRates, *, unpriced: bool = False) -> RateCard:
        per_mtok = (
            rates.input,
            rates.cache_read,
            rates.cache_write,
            rates.cache_write_1h,
            rates.output,
            rates.reasoning,
            rates.web_search * _THOUSAND,
            rates.request * _THOUSAND,
        )
        exponent = max(_exponent(value) for value in per_mtok)
        card = cls(
            rates=rates,
            cost_source_unpriced=unpriced,
            exponent=exponent,
            ints=tuple(int(value.scaleb(exponent)) for value in per_mtok),
            tiers=tuple((threshold, cls.of(tier, unpriced=unpriced)) for threshold, tier in rates.tiers),
            hardware=rates.hardware_per_hour,
        )
        card._unit_shift = exponent + 6 - 10
        card._neg = -(exponent + 6)
        return card

    def compute(self, usage: Usage, duration_ms: int | None = None) -> tuple[int, Slices]:
        """Storage units of the total (rounded once, half-even) and the exact slices in USD."""
        card = self
        if self.tiers:
            total_input = (
                usage.input_tokens
                + usage.cache_read_tokens
                + usage.cache_write_tokens
                + usage.cache_write_1h_tokens
            )
            for threshold, tier in reversed(self.tiers):
                if total_input > threshold:
                    card = tier
                    break
        r_in, r_cr, r_cw, r_cw1, r_out, r_rs, r_ws, r_rq = card.ints
        reasoning = usage.reasoning_tokens
        n_in = usage.input_tokens * r_in
        n_cr = usage.cache_read_tokens * r_cr
        n_cw = usage.cache_write_tokens * r_cw
        n_cw1 = usage.cache_write_1h_tokens * r_cw1
        n_out = (usage.output_tokens - reasoning) * r_out + reasoning * r_rs
        n_ws = usage.web_search_requests * r_ws
        n_rq = usage.requests * r_rq
        numerator = n_in + n_cr + n_cw + n_cw1 + n_out + n_ws + n_rq
        shift = card._unit_shift
        units = numerator * 10 ** (-shift) if shift <= 0 else _round_half_even(numerator, 10**shift)
        hardware: Decimal | None = None
        if self.hardware is not None:  # local providers: token rates are zero, the hardware time is the cost
            units, hardware = hardware_units(duration_ms or 0, self.hardware)
        slices = Slices((n_in, n_cr, n_cw, n_cw1, n_out, n_ws, n_rq), card._neg, hardware)
        return units, slices
