"""Price overrides: configured rates that replace a model's catalog rates from a date on, and how they apply.

When several overrides of a model are in effect, the latest `effective_from` wins, then the one that names
its provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from pydantic import field_validator, model_validator

from costwarden.core.config_fields import ConfigDate, Name
from costwarden.pricing.price_sets import PriceTier, RateFields, check_tiers, raw_prices
from costwarden.pricing.rates import RawPrice

__all__ = ["ModelPriceOverride", "active_override", "apply_override", "override_ref"]


class ModelPriceOverride(RateFields):
    """Replace catalog rates of a model, from `effective_from` on (always when not given).

    Only the rates given are replaced; a replaced rate is flat (no long-context tier) unless `tiers` is
    given, which then replaces all catalog tiers. For a model the catalog does not know, an override with
    at least `input` and `output` prices it.
    """

    model: Name
    provider: Name | None = None
    effective_from: ConfigDate | None = None
    tiers: list[PriceTier] | None = None

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: list[PriceTier] | None) -> list[PriceTier] | None:
        return None if value is None else check_tiers(value)

    @model_validator(mode="after")
    def _something(self) -> ModelPriceOverride:
        if not self.given_rates() and self.tiers is None:
            raise ValueError(f"override of {self.model!r} sets no rate (give input, output, ...)")
        return self

    @property
    def standalone(self) -> bool:
        """Whether this override can price a model the catalog does not know."""
        return self.input is not None and self.output is not None


def active_override(overrides: Sequence[ModelPriceOverride], at: datetime) -> ModelPriceOverride | None:
    """The override in effect at `at`: the latest `effective_from` not after its UTC day, preferring one
    that names its provider; None when none is."""
    day = at.astimezone(UTC).date()
    active = [item for item in overrides if item.effective_from is None or item.effective_from <= day]
    if not active:
        return None
    return max(active, key=lambda item: (item.effective_from or date.min, item.provider is not None))


def apply_override(raw: dict[str, RawPrice], override: ModelPriceOverride) -> dict[str, RawPrice]:
    """Raw catalog rates with the override's rates (and tiers, when it gives them) in place."""
    out = dict(raw)
    for name, value in override.given_rates().items():
        out[name] = (value, ())
    if override.tiers is not None:
        flat = {name: (base, ()) for name, (base, _) in out.items()}
        steps = raw_prices(RateFields(), override.tiers)
        out = {
            name: (flat.get(name, (None, ()))[0], steps.get(name, (None, ()))[1])
            for name in flat.keys() | steps
        }
    return out


def override_ref(override: ModelPriceOverride) -> str:
    """The `price_ref` of costs priced by the override: `override:MODEL[ from DATE]`."""
    since = f" from {override.effective_from}" if override.effective_from else ""
    return f"override:{override.model}{since}"
