"""What a model costs, and which models of the ledger are unpriced or priced outside the catalog.
`price_view(warden, PriceQuery(...))` answers `costwarden prices show` (`costwarden.price/1`);
`price_check(warden)` answers `costwarden prices check` (`costwarden.price_check/1`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.pricing.rates import ModelRates
from costwarden.pricing.tiers import CostTierDefinition
from costwarden.reports.formats import money

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "PRICE_SCHEMA",
    "PRICE_CHECK_SCHEMA",
    "RATE_SLICES",
    "PriceQuery",
    "PriceResult",
    "PriceCheckRow",
    "PriceCheckResult",
    "model_and_provider",
    "price_view",
    "price_check",
]

PRICE_SCHEMA = "costwarden.price/1"
PRICE_CHECK_SCHEMA = "costwarden.price_check/1"

RATE_SLICES: tuple[tuple[str, str, str], ...] = (
    ("input", "input", "per MTok"),
    ("cache_read", "cache read", "per MTok"),
    ("cache_write", "cache write (5 min)", "per MTok"),
    ("cache_write_1h", "cache write (1 hour)", "per MTok"),
    ("output", "output", "per MTok"),
    ("reasoning", "reasoning", "per MTok"),
    ("web_search", "web search", "per 1k"),
    ("request", "request", "per 1k"),
)
"""The priced slices of a model: attribute of `ModelRates`, label, unit."""


def model_and_provider(model: str, provider: str | None) -> tuple[str | None, str]:
    """`openai/gpt-5` -> (`openai`, `gpt-5`) unless the provider is given."""
    if provider is None and "/" in model:
        provider, model = model.split("/", 1)
    return provider, model


@dataclass(frozen=True, slots=True)
class PriceQuery:
    """The prices of `model` (`provider/model` names both) at `at` (default: the Warden's now), for a
    service tier."""

    model: str
    provider: str | None = None
    at: datetime | None = None
    service_tier: str | None = None


@dataclass(frozen=True, slots=True)
class PriceResult:
    """A model's per-slice rates, its long-context tiers and its cost tier."""

    SCHEMA: ClassVar[str] = PRICE_SCHEMA

    rates: ModelRates
    cost_tier: str
    tier: CostTierDefinition | None = None

    def to_json(self) -> dict[str, Any]:
        rates = self.rates
        out: dict[str, Any] = {
            "provider": rates.provider,
            "model": rates.model,
            "source": rates.source,
            "price_ref": rates.price_ref,
            "effective_from": rates.effective_from.isoformat() if rates.effective_from else None,
        }
        for attr, _, _ in RATE_SLICES:
            out[attr] = money(getattr(rates, attr))
        out["hardware_per_hour"] = (
            money(rates.hardware_per_hour) if rates.hardware_per_hour is not None else None
        )
        out["long_context_tiers"] = [
            {"above_input_tokens": threshold, **{a: money(getattr(r, a)) for a, _, _ in RATE_SLICES}}
            for threshold, r in rates.tiers
        ]
        out["cost_tier"] = self.cost_tier
        return out


def price_view(warden: Warden, query: PriceQuery) -> PriceResult | None:
    """The model's prices, or None for a model no price covers (its events are recorded as unpriced and
    budgeted at `warden.pricebook.fallback_rates`)."""
    provider, model = model_and_provider(query.model, query.provider)
    at = query.at if query.at is not None else warden.clock.now()
    rates = warden.pricebook.rates(provider or "", model, at, query.service_tier)
    if rates is None:
        return None
    tier = warden.tiers.classify(rates)
    return PriceResult(rates, tier, warden.tiers.get(tier))


@dataclass(frozen=True, slots=True)
class PriceCheckRow:
    """A model of the ledger that is unpriced, or priced by an override, a custom or a local price."""

    provider: str
    model: str
    status: str
    """`unpriced`, or where its price comes from now (`override`, `custom`, `local`, `catalog`)."""
    recorded_as: str
    """The cost source its events were recorded with."""
    events: int
    cost: Decimal
    price_ref: str | None

    @property
    def unpriced(self) -> bool:
        return self.status == "unpriced" or self.recorded_as == "unpriced"

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "recorded_as": self.recorded_as,
            "events": self.events,
            "cost": money(self.cost),
            "price_ref": self.price_ref,
        }


@dataclass(frozen=True, slots=True)
class PriceCheckResult:
    SCHEMA: ClassVar[str] = PRICE_CHECK_SCHEMA

    rows: list[PriceCheckRow] = field(default_factory=list)

    @property
    def unpriced(self) -> list[PriceCheckRow]:
        return [r for r in self.rows if r.unpriced]

    def to_json(self) -> dict[str, Any]:
        return {"models": [r.to_json() for r in self.rows], "unpriced": len(self.unpriced)}


def price_check(warden: Warden) -> PriceCheckResult:
    """Every model seen in the ledger that the catalog does not price as recorded, at the Warden's now."""
    book = warden.pricebook
    now = warden.clock.now()
    rows: list[PriceCheckRow] = []
    for seen in warden.ledger.models_seen():
        rates = book.rates(seen.provider, seen.model, now)
        status = "unpriced" if rates is None else rates.source
        if status == "catalog" and seen.cost_source != "unpriced":
            continue
        price_ref = rates.price_ref if rates is not None else None
        rows.append(
            PriceCheckRow(
                seen.provider, seen.model, status, seen.cost_source, seen.events, seen.cost, price_ref
            )
        )
    return PriceCheckResult(rows)
