"""The `pricing:` configuration section: fallback, aliases, overrides, custom and local models.

Every model is strict and refuses unknown keys. Money fields are exact Decimals per million tokens (per
thousand for `web_search` and `request`); floats read from YAML become the Decimal of their shortest repr
(`0.1` -> `Decimal('0.1')`), never a binary float.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from costwarden.core.config_fields import ConfigDate, Money, Name, StrictSection
from costwarden.pricing.overrides import ModelPriceOverride
from costwarden.pricing.price_sets import DatedPrices, PriceRates

__all__ = [
    "CustomModel",
    "LocalProvider",
    "FallbackRates",
    "PricingConfig",
    "DEFAULT_LOCAL_PROVIDERS",
]


class CustomModel(PriceRates):
    """A model the catalog does not know, with optional long-context tiers and dated price changes."""

    provider: Name
    model: Name
    prices_from: list[DatedPrices] = Field(default_factory=list)

    @field_validator("prices_from")
    @classmethod
    def _dated(cls, value: list[DatedPrices]) -> list[DatedPrices]:
        dates = [item.effective_from for item in value]
        if len(set(dates)) != len(dates):
            raise ValueError("two price sets have the same effective_from date")
        return sorted(value, key=lambda item: item.effective_from)


class LocalProvider(StrictSection):
    """A provider whose calls cost no tokens (a local runtime); optional hardware cost per hour of calls."""

    provider: Name
    cost_per_hour: Money | None = None


class FallbackRates(StrictSection):
    """Rates for models nobody knows (per million tokens). All input, cached or not, pays `input`."""

    input: Money = Decimal(15)
    output: Money = Decimal(75)


DEFAULT_LOCAL_PROVIDERS: tuple[str, ...] = ("ollama", "lmstudio", "llamacpp")


def _default_local() -> list[LocalProvider]:
    return [LocalProvider(provider=name) for name in DEFAULT_LOCAL_PROVIDERS]


class PricingConfig(StrictSection):
    """The `pricing:` section."""

    fallback: FallbackRates = Field(default_factory=FallbackRates)
    fallback_enabled: bool = True
    """False prices unknown models at $0 (still flagged `unpriced`)."""
    aliases: dict[Name, Name] = Field(default_factory=dict)
    """Model names as reported -> the model to price them as, e.g. `sonnet: anthropic/claude-sonnet-4-5`."""
    overrides: list[ModelPriceOverride] = Field(default_factory=list)
    custom_models: list[CustomModel] = Field(default_factory=list)
    local_providers: list[LocalProvider] = Field(default_factory=_default_local)
    """Replaces the default list (ollama, lmstudio, llamacpp) when given."""
    last_updated: ConfigDate | None = None
    """When you last checked the prices you configured here (named in every report's basis line)."""

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
