"""The price catalog: the `Catalog` protocol the price book reads, and its genai-prices adapter.

This is the only module that imports genai-prices, and it does so on first use, never at import time.
It uses the library's public names only: `genai_prices.__version__`, the bundled data
(`genai_prices.data.providers`), `genai_prices.data_snapshot.DataSnapshot` for lookups, and the
constraint types of `genai_prices.types`. The catalog is the bundled, offline snapshot: nothing is
fetched at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol, runtime_checkable

from costwarden.core.provider_names import normalize_provider
from costwarden.pricing.catalog_dates import CatalogFacts, catalog_facts
from costwarden.pricing.epochs import time_of_day_micros
from costwarden.pricing.rates import RawPrice

__all__ = [
    "CATALOG_NAME",
    "Catalog",
    "CatalogModel",
    "DatedCatalog",
    "GenaiPricesCatalog",
    "GenaiPricesModel",
    "price_context",
]

CATALOG_NAME = "genai-prices"

_PRICE_KEYS: Mapping[str, str] = {
    "input": "input_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "cache_write_1h": "cache_write_1h_mtok",
    "output": "output_mtok",
    "reasoning": "output_reasoning_mtok",
    "web_search": "web_searches_kcount",
    "request": "requests_kcount",
}


class CatalogModel(Protocol):
    """One catalog model as reached through one provider: its ids, when its price can change, its rates."""

    @property
    def provider_id(self) -> str: ...

    @property
    def model_id(self) -> str: ...

    @property
    def breaks(self) -> tuple[date, ...]:
        """Start dates (UTC) of dated prices and variants: the price can only change at these days."""
        ...

    @property
    def time_of_day(self) -> tuple[tuple[int, int], ...]:
        """Daily windows with their own prices (off-peak), as UTC microseconds of the day `[start, end)`."""
        ...

    def raw_prices(self, at: datetime, service_tier: str | None) -> dict[str, RawPrice]:
        """Raw rates at `at` (UTC) for `service_tier`, keyed by `RATE_NAMES`; rates not given are absent."""
        ...

    def price_since(self, at: datetime, service_tier: str | None) -> date | None:
        """Start date of the dated price in effect at `at` (with the tier's own prices); None if undated."""
        ...

    def tier_applies(self, at: datetime, service_tier: str | None) -> bool:
        """Whether `service_tier` changes any price at `at`."""
        ...


class Catalog(Protocol):
    """Where published prices come from: provider ids, model lookup, the list of models."""

    @property
    def version(self) -> str:
        """The catalog's name and version, e.g. `genai-prices 0.2.3` (part of every `price_ref`)."""
        ...

    def is_provider(self, provider: str) -> bool:
        """Whether the catalog knows this (normalised) provider id."""
        ...

    def find(self, provider: str | None, model: str) -> CatalogModel | None:
        """The model through `provider` (None: the provider whose models match the name), or None."""
        ...

    def models(self, provider: str | None = None) -> list[tuple[str, str]]:
        """`(provider_id, model_id)` of every catalog model (of one provider when given), sorted."""
        ...


@runtime_checkable
class DatedCatalog(Protocol):
    """A catalog that can say how recent its prices are (the basis line of reports names it)."""

    def prices_as_of(self, day: date) -> date | None:
        """The newest date on which a price of the catalog changed, not after `day` (None: undated)."""
        ...


def price_context(service_tier: str | None) -> dict[str, str] | None:
    """The genai-prices price context for a service tier.

    `batch` selects batch processing; `fast` the fast service tier or speed; `key=value[,key=value]` is
    passed as given; any other value is the `service_tier` (`flex`, `priority`, `default`, ...).
    """
    if not service_tier:
        return None
    tier = service_tier.strip()
    if "=" in tier:
        pairs = (part.split("=", 1) for part in tier.split(",") if "=" in part)
        return {key.strip(): value.strip() for key, value in pairs}
    tier = tier.lower()
    if tier == "batch":
        return {"processing": "batch"}
    if tier == "fast":
        return {"service_tier": "fast", "speed": "fast"}
    return {"service_tier": tier}


def _raw(value: Any) -> RawPrice | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return (value, ())
    return (value.base, tuple((int(tier.start), tier.price) for tier in value.tiers))


@dataclass(frozen=True, slots=True)
class GenaiPricesModel:
    """A genai-prices model as reached through one provider."""

    provider_id: str
    model_id: str
    info: Any
    """The `genai_prices.types.ModelInfo`."""
    own: bool
    """The model belongs to `provider_id` (not borrowed from a fallback provider): price variants apply."""
    breaks: tuple[date, ...]
    time_of_day: tuple[tuple[int, int], ...]

    def _context(self, service_tier: str | None) -> dict[str, str] | None:
        return price_context(service_tier) if self.own else None

    def _raw_prices(self, at: datetime, context: Mapping[str, str] | None) -> dict[str, RawPrice]:
        model_price = self.info.get_prices(at, context)
        out: dict[str, RawPrice] = {}
        for name, key in _PRICE_KEYS.items():
            raw = _raw(getattr(model_price, key, None))
            if raw is not None:
                out[name] = raw
        return out

    def raw_prices(self, at: datetime, service_tier: str | None) -> dict[str, RawPrice]:
        """Raw rates at `at` for `service_tier`, as genai-prices' own `calc_price` resolves them."""
        return self._raw_prices(at, self._context(service_tier))

    def price_since(self, at: datetime, service_tier: str | None) -> date | None:
        day = at.astimezone(UTC).date()
        context = self._context(service_tier)
        constraints = [c.constraint for c in self.info.prices] if isinstance(self.info.prices, list) else []
        if context:
            constraints += [
                variant.constraint
                for variant in self.info.price_variants or ()
                if all(context.get(key) == value for key, value in variant.when.items())
            ]
        starts = [start for c in constraints if isinstance(start := getattr(c, "start_date", None), date)]
        return max((start for start in starts if start <= day), default=None)

    def tier_applies(self, at: datetime, service_tier: str | None) -> bool:
        context = self._context(service_tier)
        return bool(context) and self._raw_prices(at, context) != self._raw_prices(at, None)


@cache
def _snapshot() -> Any:
    """The bundled genai-prices data as a `DataSnapshot` (lookups cached), built once per process."""
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)


def _read_facts() -> CatalogFacts:
    """The version and every start date of a dated price in the bundled data, read from the package."""
    import genai_prices
    from genai_prices.types import StartDateConstraint

    found: set[date] = set()
    for provider in _snapshot().providers:
        for model in provider.models:
            prices = model.prices if isinstance(model.prices, list) else []
            constraints = [item.constraint for item in prices]
            constraints += [variant.constraint for variant in model.price_variants or ()]
            found.update(c.start_date for c in constraints if isinstance(c, StartDateConstraint))
    return CatalogFacts(version=genai_prices.__version__, price_dates=tuple(sorted(found)))


@cache
def _facts() -> CatalogFacts:
    """The catalog's version and price dates, kept per installed version (`pricing.catalog_dates`)."""
    return catalog_facts(_read_facts)


class GenaiPricesCatalog:
    """The `Catalog` of the genai-prices data bundled with the installed package, loaded on first use."""

    def __init__(self) -> None:
        self._version: str | None = None
        self._provider_known: dict[str, bool] = {}

    @property
    def version(self) -> str:
        """`genai-prices 0.2.3`."""
        if self._version is None:
            self._version = f"{CATALOG_NAME} {_facts().version}"
        return self._version

    def is_provider(self, provider: str) -> bool:
        known = self._provider_known.get(provider)
        if known is None:
            try:
                _snapshot().find_provider(None, provider, None)
                known = True
            except LookupError:
                known = False
            self._provider_known[provider] = known
        return known

    def find(self, provider: str | None, model: str) -> GenaiPricesModel | None:
        try:
            found_provider, info = _snapshot().find_provider_model(model, None, provider, None)
        except LookupError:
            return None
        from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

        constraints = [c.constraint for c in info.prices] if isinstance(info.prices, list) else []
        constraints += [variant.constraint for variant in info.price_variants or ()]
        breaks = sorted({c.start_date for c in constraints if isinstance(c, StartDateConstraint)})
        time_of_day = tuple(
            (time_of_day_micros(c.start_time), time_of_day_micros(c.end_time))
            for c in constraints
            if isinstance(c, TimeOfDateConstraint)
        )
        return GenaiPricesModel(
            provider_id=found_provider.id,
            model_id=info.id,
            info=info,
            own=any(info is candidate for candidate in found_provider.models),
            breaks=tuple(breaks),
            time_of_day=time_of_day,
        )

    def prices_as_of(self, day: date) -> date | None:
        """The newest start date of a catalog price not after `day`: how recent the bundled prices are at
        `day` (a later release of genai-prices moves it)."""
        starts = _facts().price_dates
        eligible = [start for start in starts if start <= day]
        return eligible[-1] if eligible else None

    def models(self, provider: str | None = None) -> list[tuple[str, str]]:
        wanted = normalize_provider(provider) if provider else None
        return sorted(
            (item.id, model.id)
            for item in _snapshot().providers
            if wanted is None or item.id == wanted
            for model in item.models
        )
