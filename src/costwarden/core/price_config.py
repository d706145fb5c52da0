"""The `pricing:` configuration section: fallback, overrides, custom and local models.

Every model is strict and refuses unknown keys. Money fields are exact Decimals per million tokens (per
thousand for `web_search` and `request`); floats read from YAML become the Decimal of their shortest repr
(`0.1` -> `Decimal('0.1')`), never a binary float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from costwarden.core.money import parse_money
from costwarden.errors import ValidationError

__all__ = [
    "RATE_NAMES",
    "Money",
    "ConfigDate",
    "RateFields",
    "PriceTier",
    "PriceRates",
    "DatedPrices",
    "ModelPriceOverride",
    "CustomModel",
    "LocalProvider",
    "FallbackRates",
    "PricingConfig",
    "DEFAULT_LOCAL_PROVIDERS",
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
_Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class RateFields(_Strict):
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


def _check_tiers(tiers: list[PriceTier]) -> list[PriceTier]:
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
        return _check_tiers(value)


class DatedPrices(PriceRates):
    """A full price set that applies from `effective_from` (UTC date) on."""

    effective_from: ConfigDate


class ModelPriceOverride(RateFields):
    """Replace catalog rates of a model, from `effective_from` on (always when not given).

    Only the rates given are replaced; a replaced rate is flat (no long-context tier) unless `tiers` is
    given, which then replaces all catalog tiers. For a model the catalog does not know, an override with
    at least `input` and `output` prices it.
    """

    model: _Name
    provider: _Name | None = None
    effective_from: ConfigDate | None = None
    tiers: list[PriceTier] | None = None

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: list[PriceTier] | None) -> list[PriceTier] | None:
        return None if value is None else _check_tiers(value)

    @model_validator(mode="after")
    def _something(self) -> ModelPriceOverride:
        if not self.given_rates() and self.tiers is None:
            raise ValueError(f"override of {self.model!r} sets no rate (give input, output, ...)")
        return self

    @property
    def standalone(self) -> bool:
        """Whether this override can price a model the catalog does not know."""
        return self.input is not None and self.output is not None


class CustomModel(PriceRates):
    """A model the catalog does not know, with optional long-context tiers and dated price changes."""

    provider: _Name
    model: _Name
    prices_from: list[DatedPrices] = Field(default_factory=list)

    @field_validator("prices_from")
    @classmethod
    def _dated(cls, value: list[DatedPrices]) -> list[DatedPrices]:
        dates = [item.effective_from for item in value]
        if len(set(dates)) != len(dates):
            raise ValueError("two price sets have the same effective_from date")
        return sorted(value, key=lambda item: item.effective_from)


class LocalProvider(_Strict):
    """A provider whose calls cost no tokens (a local runtime); optional hardware cost per hour of calls."""

    provider: _Name
    cost_per_hour: Money | None = None


class FallbackRates(_Strict):
    """Rates for models nobody knows (per million tokens). All input, cached or not, pays `input`."""

    input: Money = Decimal(15)
    output: Money = Decimal(75)


DEFAULT_LOCAL_PROVIDERS: tuple[str, ...] = ("ollama", "lmstudio", "llamacpp")


def _default_local() -> list[LocalProvider]:
    return [LocalProvider(provider=name) for name in DEFAULT_LOCAL_PROVIDERS]


class PricingConfig(_Strict):
    """The `pricing:` section."""

    fallback: FallbackRates = Field(default_factory=FallbackRates)
    fallback_enabled: bool = True
    """False prices unknown models at $0 (still flagged `unpriced`)."""
    aliases: dict[_Name, _Name] = Field(default_factory=dict)
    """Model names as reported -> the model to price them as, e.g. `sonnet: anthropic/claude-sonnet-4-5`."""
    overrides: list[ModelPriceOverride] = Field(default_factory=list)
    custom_models: list[CustomModel] = Field(default_factory=list)
    local_providers: list[LocalProvider] = Field(default_factory=_default_local)
    """Replaces the default list (ollama, lmstudio, llamacpp) when given."""

    @model_validator(mode="after")
    def _unique(self) -> PricingConfig:
        overrides: set[tuple[str, str, date | None]] = set()
        for item in self.overrides:
            key = (item.model.lower(), (item.provider or "").lower(), item.effective_from)
            if key in overrides:
                where = f" for provider {item.provider!r}" if item.provider else ""
                when = f" from {item.effective_from}" if item.effective_from else ""
                raise ValueError(f"model {item.model!r} is overridden twice{where}{when}")
            overrides.add(key)
        custom: set[tuple[str, str]] = set()
        for model in self.custom_models:
            if (model.provider.lower(), model.model.lower()) in custom:
                raise ValueError(f"custom model {model.provider}/{model.model} is defined twice")
            custom.add((model.provider.lower(), model.model.lower()))
        local: set[str] = set()
        for provider in self.local_providers:
            if provider.provider.lower() in local:
                raise ValueError(f"local provider {provider.provider!r} is listed twice")
            local.add(provider.provider.lower())
        return self
