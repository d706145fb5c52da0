"""The price book: what a call cost, from the genai-prices catalog, overrides, custom and local models.

    book = PriceBook(settings.pricing)
    cost = book.price(event)          # CostBreakdown(total, source, slices, price_ref)

How a model is found: local providers first (zero token cost, optional hardware cost per hour), then
custom models, then the catalog (provider aliases normalised; `provider/model` refs and LiteLLM names
accepted; a provider the catalog does not know is matched by model name alone). Overrides replace
catalog rates from their date on. Anything else is unpriced and counted at the fallback rates.

Speed: rates are resolved once per (provider, model, service tier, price epoch) and kept as integers. An
epoch is the span between the start dates of a model's dated prices (and override dates); models with
time-of-day prices add the active flags of those windows to the epoch. The book is safe to share
between threads (its caches are plain dicts; a race only builds the same entry twice).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime
from decimal import Decimal

from costwarden.clock import default_now
from costwarden.core.money import from_units, to_units
from costwarden.core.price_catalog import (
    Catalog,
    CatalogModel,
    midnight,
    normalize_provider,
    price_context,
    windows_active,
)
from costwarden.core.price_config import (
    RATE_NAMES,
    CustomModel,
    DatedPrices,
    FallbackRates,
    LocalProvider,
    ModelPriceOverride,
    PriceRates,
    PriceTier,
    PricingConfig,
    RateFields,
)
from costwarden.core.price_rates import SLICE_NAMES, ModelRates, RateCard, RateSource, RawPrice, build_rates
from costwarden.core.usage import CostBreakdown, CostSource, Usage, UsageEvent, ensure_utc

__all__ = [
    "PriceBook",
    "ModelRates",
    "PricingConfig",
    "ModelPriceOverride",
    "CustomModel",
    "LocalProvider",
    "PriceRates",
    "PriceTier",
    "DatedPrices",
    "FallbackRates",
    "RATE_NAMES",
    "SLICE_NAMES",
    "FALLBACK_REF",
]

FALLBACK_REF = "fallback"
_MAX_ENTRIES = 10_000
_ZERO = Decimal(0)
_Builder = Callable[[datetime, int], RateCard]


class _Entry:
    """Everything needed to price one (provider, model, service tier) at any time."""

    __slots__ = ("breaks", "build", "cards", "known", "names", "single", "time_of_day")

    def __init__(
        self,
        build: _Builder,
        *,
        known: bool,
        names: tuple[str, str],
        breaks: tuple[datetime, ...] = (),
        time_of_day: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.build = build
        self.known = known
        self.names = names
        """The canonical (provider, model) of the call: the catalog's ids, a custom or local model's
        configured names, or for an unknown model the provider (normalised) and model as given."""
        self.breaks = breaks
        self.time_of_day = time_of_day
        self.cards: dict[Hashable, RateCard] = {}
        self.single: RateCard | None = None

    def card_at(self, at: datetime) -> RateCard:
        single = self.single
        if single is not None:
            return single
        breaks = self.breaks
        if not breaks and not self.time_of_day:
            self.single = single = self.build(at, 0)
            return single
        epoch = bisect_right(breaks, at) if breaks else 0
        key: Hashable = epoch
        if self.time_of_day:
            key = (epoch, windows_active(self.time_of_day, at))
        card = self.cards.get(key)
        if card is None:
            card = self.cards[key] = self.build(at, epoch)
        return card


def _raw_from(rates: RateFields, tiers: list[PriceTier] | None) -> dict[str, RawPrice]:
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


def _apply_override(raw: dict[str, RawPrice], override: ModelPriceOverride) -> dict[str, RawPrice]:
    out = dict(raw)
    for name, value in override.given_rates().items():
        out[name] = (value, ())
    if override.tiers is not None:
        flat = {name: (base, ()) for name, (base, _) in out.items()}
        steps = _raw_from(RateFields(), override.tiers)
        out = {
            name: (flat.get(name, (None, ()))[0], steps.get(name, (None, ()))[1])
            for name in flat.keys() | steps
        }
    return out


def _override_ref(override: ModelPriceOverride) -> str:
    since = f" from {override.effective_from}" if override.effective_from else ""
    return f"override:{override.model}{since}"


class PriceBook:
    """Prices usage events exactly. Build one per process from the `pricing:` settings and share it."""

    def __init__(self, config: PricingConfig | None = None) -> None:
        self.config = config if config is not None else PricingConfig()
        self.catalog = Catalog()
        self._entries: dict[tuple[str, str, str | None], _Entry] = {}
        self._aliases = {key.strip().lower(): value.strip() for key, value in self.config.aliases.items()}
        self._local = {normalize_provider(item.provider): item for item in self.config.local_providers}
        self._custom = {
            (normalize_provider(item.provider), item.model.strip().lower()): item
            for item in self.config.custom_models
        }
        self._custom_providers = {provider for provider, _ in self._custom}
        self._fallback = RateCard.of(self._fallback_rates(), unpriced=True)

    # -- public API ---------------------------------------------------------------------------------------

    @property
    def catalog_version(self) -> str:
        """The catalog used for computed prices, e.g. `genai-prices 0.2.3`."""
        return self.catalog.version

    def price(self, event: UsageEvent) -> CostBreakdown:
        """The cost of `event` at `event.occurred_at` and `event.service_tier`.

        A provider-reported cost (`event.provider_cost`) wins: source `provider_reported`, total that amount
        (rounded to 10^-10 USD); slices are still computed when the model is known. The event is priced by
        the names its caller gave (`event.names_given`), also once it carries canonical names.
        """
        provider = event.given_provider or event.provider
        model = event.given_model or event.model
        entry = self._entries.get((provider, model, event.service_tier))
        if entry is None:
            entry = self._entry(provider, model, event.service_tier)
        return self._breakdown(
            entry.card_at(event.occurred_at), event.usage, event.duration_ms, event.provider_cost
        )

    def price_usage(
        self,
        provider: str,
        model: str,
        usage: Usage,
        at: datetime,
        service_tier: str | None = None,
        *,
        duration_ms: int | None = None,
        provider_cost: Decimal | None = None,
    ) -> CostBreakdown:
        """The cost of `usage` of `provider`/`model` at `at` (an aware datetime)."""
        if at.tzinfo is not UTC:
            at = ensure_utc(at, "at")
        entry = self._entries.get((provider, model, service_tier))
        if entry is None:
            entry = self._entry(provider, model, service_tier)
        return self._breakdown(entry.card_at(at), usage, duration_ms, provider_cost)

    def rates(
        self, provider: str, model: str, at: datetime | None = None, service_tier: str | None = None
    ) -> ModelRates | None:
        """The rates `provider`/`model` is priced at (now when `at` is None); None for an unknown model."""
        at = default_now() if at is None else ensure_utc(at, "at")
        card = self._entry(provider, model, service_tier).card_at(at)
        return None if card.cost_source_unpriced else card.rates

    def canonical(self, provider: str, model: str) -> tuple[str, str]:
        """The one name of a provider and model: the catalog's ids (`claude`, `claude-sonnet-4-5-20250929` ->
        `anthropic`, `claude-sonnet-4-5`), a custom or local model's configured names, else the provider
        normalised (lower case, aliases mapped) and the model as given."""
        entry = self._entries.get((provider, model, None))
        if entry is None:
            entry = self._entry(provider, model, None)
        return entry.names

    def is_known(self, provider: str, model: str) -> bool:
        """Whether the model has a price (catalog, override, custom or local) rather than the fallback."""
        return self._entry(provider, model, None).known

    @property
    def fallback_rates(self) -> ModelRates:
        """The rates unknown models are counted at (zero when the fallback is disabled)."""
        return self._fallback.rates

    def known_models(self, provider: str | None = None) -> list[tuple[str, str]]:
        """`(provider, model)` of every catalog and custom model (of one provider when given)."""
        wanted = normalize_provider(provider) if provider else None
        custom = [
            (item.provider, item.model)
            for item in self.config.custom_models
            if wanted is None or normalize_provider(item.provider) == wanted
        ]
        return sorted([*self.catalog.models(provider), *custom])

    # -- pricing ------------------------------------------------------------------------------------------

    @staticmethod
    def _breakdown(
        card: RateCard, usage: Usage, duration_ms: int | None, provider_cost: Decimal | None
    ) -> CostBreakdown:
        rates = card.rates
        if provider_cost is not None:
            total = from_units(to_units(Decimal(provider_cost)))
            if card.cost_source_unpriced:
                return CostBreakdown(total, CostSource.PROVIDER_REPORTED, {}, None)
            _, slices = card.compute(usage, duration_ms)
            return CostBreakdown(total, CostSource.PROVIDER_REPORTED, slices, rates.price_ref)
        units, slices = card.compute(usage, duration_ms)
        source = CostSource.UNPRICED if card.cost_source_unpriced else CostSource.COMPUTED
        return CostBreakdown(from_units(units), source, slices, rates.price_ref)

    # -- resolution ---------------------------------------------------------------------------------------

    def _fallback_rates(self) -> ModelRates:
        fallback = (
            self.config.fallback if self.config.fallback_enabled else FallbackRates(input=_ZERO, output=_ZERO)
        )
        return build_rates(
            {"input": (fallback.input, ()), "output": (fallback.output, ())},
            provider="*",
            model="*",
            source="fallback",
            price_ref=FALLBACK_REF,
        )

    def _entry(self, provider: str, model: str, service_tier: str | None) -> _Entry:
        key = (provider, model, service_tier)
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= _MAX_ENTRIES:  # bounded: model names come from callers
                self._entries.clear()
            entry = self._entries[key] = self._resolve(provider, model, service_tier)
        return entry

    def _resolve(self, provider: str, model: str, service_tier: str | None) -> _Entry:
        given = normalize_provider(provider)
        name = model.strip()
        name = self._aliases.get(name.lower(), name)
        candidates = [(given, name)]
        if "/" in name:
            prefix, rest = name.split("/", 1)
            prefix = normalize_provider(prefix)
            if prefix in self._local or prefix in self._custom_providers or self.catalog.is_provider(prefix):
                candidates.append((prefix, rest))
        for candidate_provider, candidate_model in candidates:
            if (local := self._local.get(candidate_provider)) is not None:
                return self._local_entry(local, candidate_provider, candidate_model)
            if (custom := self._custom.get((candidate_provider, candidate_model.lower()))) is not None:
                return self._custom_entry(custom, candidate_provider)
        found: CatalogModel | None = None
        for candidate_provider, candidate_model in candidates:
            found = self.catalog.find(candidate_provider, candidate_model)
            if found is not None:
                break
        if found is None and not self.catalog.is_provider(given):
            for _, candidate_model in candidates:
                found = self.catalog.find(None, candidate_model)
                if found is not None:
                    break
        names = {model.strip().lower(), *(candidate_model.lower() for _, candidate_model in candidates)}
        providers = {candidate_provider for candidate_provider, _ in candidates}
        if found is not None:
            names.add(found.model_id.lower())
            providers.add(found.provider_id)
        overrides = [
            item
            for item in self.config.overrides
            if item.model.strip().lower() in names
            and (item.provider is None or normalize_provider(item.provider) in providers)
        ]
        if found is not None:
            return self._catalog_entry(found, overrides, service_tier)
        return self._unknown_entry(given, name, [item for item in overrides if item.standalone])

    @staticmethod
    def _active_override(overrides: list[ModelPriceOverride], at: datetime) -> ModelPriceOverride | None:
        day = at.astimezone(UTC).date()
        active = [item for item in overrides if item.effective_from is None or item.effective_from <= day]
        if not active:
            return None
        return max(active, key=lambda item: (item.effective_from or date.min, item.provider is not None))

    def _catalog_entry(
        self, found: CatalogModel, overrides: list[ModelPriceOverride], service_tier: str | None
    ) -> _Entry:
        context = price_context(service_tier) if found.own else None
        version = self.catalog.version

        def build(at: datetime, _epoch: int) -> RateCard:
            raw = found.raw_prices(at, context)
            override = self._active_override(overrides, at)
            source: RateSource = "catalog"
            tier_note = f" [{service_tier}]" if found.variant_applies(at, context) else ""
            since = found.price_since(at, context if tier_note else None)
            ref = (
                f"{version}: {found.provider_id}/{found.model_id}{f' @ {since}' if since else ''}{tier_note}"
            )
            if override is not None:
                raw, source, since = _apply_override(raw, override), "override", override.effective_from
                ref = _override_ref(override)
            rates = build_rates(
                raw,
                provider=found.provider_id,
                model=found.model_id,
                source=source,
                price_ref=ref,
                effective_from=since,
            )
            return RateCard.of(rates)

        days = {*found.breaks, *(item.effective_from for item in overrides if item.effective_from)}
        return _Entry(
            build,
            known=True,
            names=(found.provider_id, found.model_id),
            breaks=tuple(midnight(day) for day in sorted(days)),
            time_of_day=found.time_of_day,
        )

    def _unknown_entry(self, provider: str, model: str, overrides: list[ModelPriceOverride]) -> _Entry:
        fallback = self._fallback

        def build(at: datetime, _epoch: int) -> RateCard:
            override = self._active_override(overrides, at)
            if override is None:
                return fallback
            rates = build_rates(
                _raw_from(override, override.tiers),
                provider=provider,
                model=model,
                source="override",
                price_ref=_override_ref(override),
                effective_from=override.effective_from,
            )
            return RateCard.of(rates)

        days = sorted({item.effective_from for item in overrides if item.effective_from})
        return _Entry(
            build,
            known=bool(overrides),
            names=(provider, model),
            breaks=tuple(midnight(day) for day in days),
        )

    @staticmethod
    def _custom_entry(custom: CustomModel, provider: str) -> _Entry:
        sets: list[tuple[date | None, PriceRates]] = [
            (None, custom),
            *((d.effective_from, d) for d in custom.prices_from),
        ]

        def build(_at: datetime, epoch: int) -> RateCard:
            since, prices = sets[epoch]
            rates = build_rates(
                _raw_from(prices, prices.tiers),
                provider=custom.provider,
                model=custom.model,
                source="custom",
                price_ref=f"custom:{custom.model}{f' from {since}' if since else ''}",
                effective_from=since,
            )
            return RateCard.of(rates)

        breaks = tuple(midnight(d.effective_from) for d in custom.prices_from)
        return _Entry(build, known=True, names=(provider, custom.model.strip()), breaks=breaks)

    @staticmethod
    def _local_entry(local: LocalProvider, provider: str, model: str) -> _Entry:
        rates = build_rates(
            {},
            provider=local.provider,
            model=model,
            source="local",
            price_ref=f"local:{local.provider}",
            hardware_per_hour=local.cost_per_hour,
        )
        card = RateCard.of(rates)
        return _Entry(lambda _at, _epoch: card, known=True, names=(provider, model.strip()))
