"""The cost tiers models are classified into, and which one a model falls in.
`tiers_view(warden)` answers `costwarden tiers list` (`costwarden.tiers/1`, a list of tiers);
`tier_of(warden, model, provider)` answers `costwarden tiers classify`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.pricing.rates import ModelRates
from costwarden.pricing.tiers import CostTierDefinition
from costwarden.reports.formats import money
from costwarden.views.prices import model_and_provider

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["TIERS_SCHEMA", "TiersResult", "TierOfModel", "tiers_view", "tier_of"]

TIERS_SCHEMA = "costwarden.tiers/1"


@dataclass(frozen=True, slots=True)
class TiersResult:
    """The tiers in effect, cheapest first: the built-ins changed by the config's `tiers:` section and by
    `costwarden tiers add/set/remove`, each with where it comes from (`builtin`, `config`, `cli`)."""

    SCHEMA: ClassVar[str] = TIERS_SCHEMA

    tiers: tuple[CostTierDefinition, ...]
    origins: Mapping[str, str] = field(default_factory=dict)
    shadowed: tuple[str, ...] = ()
    """Tiers set from the CLI that the config file overrides."""
    skipped: tuple[tuple[str, str], ...] = ()
    """Tiers set from the CLI left out, with why."""

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "id": t.id,
                "display_name": t.display_name,
                "description": t.description,
                "price_range_min": money(t.price_range_min),
                "price_range_max": money(t.price_range_max) if t.price_range_max is not None else None,
                "color": t.color,
                "icon": t.icon,
                "origin": self.origins.get(t.id, "builtin"),
            }
            for t in self.tiers
        ]


def tiers_view(warden: Warden) -> TiersResult:
    book = warden.tiers
    layers = book.layers
    return TiersResult(book.all(), layers.origins, layers.shadowed, layers.skipped)


@dataclass(frozen=True, slots=True)
class TierOfModel:
    """A model's tier and the blended price (USD per million tokens) that put it there."""

    rates: ModelRates
    tier: str
    blended: Decimal


def tier_of(warden: Warden, model: str, provider: str | None = None) -> TierOfModel | None:
    """The tier of `model` (`provider/model` names both) at the Warden's now; None for an unknown model."""
    provider, name = model_and_provider(model, provider)
    rates = warden.pricebook.rates(provider or "", name, warden.clock.now())
    if rates is None:
        return None
    return TierOfModel(rates, warden.tiers.classify(rates), warden.tiers.blended_price(rates))
