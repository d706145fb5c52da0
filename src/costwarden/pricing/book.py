"""The price book: what a call cost, from the price catalog, overrides, custom and local models.

    book = PriceBook(settings.pricing)
    cost = book.price(event)          # CostBreakdown(total, source, slices, price_ref)

The catalog is genai-prices' bundled data unless another `Catalog` is given (`PriceBook(config, catalog)`).

How a model is found: local providers first (zero token cost, optional hardware cost per hour), then
custom models, then the catalog (provider aliases normalised; `provider/model` refs and LiteLLM names
accepted; a provider the catalog does not know is matched by model name alone). Overrides replace
catalog rates from their date on. Anything else is unpriced and counted at the fallback rates.

Speed: rates are resolved once per (provider, model, service tier, price epoch) and kept as integers (see
`costwarden.pricing.epochs`). The book is safe to share
between threads (its caches are plain dicts; a race only builds the same entry twice).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from costwarden.clock import default_now
from costwarden.core.money import from_units, to_units
from costwarden.core.provider_names import normalize_provider
from costwarden.core.usage import CostBreakdown, CostSource, Usage, UsageEvent, ensure_utc
from costwarden.pricing.catalog import Catalog, CatalogModel, GenaiPricesCatalog
from costwarden.pricing.config import CustomModel, FallbackRates, LocalProvider, PricingConfig
from costwarden.pricing.epochs import EpochCards, midnight
from costwarden.pricing.overrides import ModelPriceOverride, active_override, apply_override, override_ref
from costwarden.pricing.price_sets import PriceRates, raw_prices
from costwarden.pricing.rates import ModelRates, RateCard, RateSource, build_rates

__all__ = ["PriceBook", "FALLBACK_REF"]

FALLBACK_REF = "fallback"
_MAX_ENTRIES = 10_000
_ZERO = Decimal(0)


class PriceBook:
    """Prices usage events exactly. Build one per process from the `pricing:` settings and share it."""

    def __init__(self, config: PricingConfig | None = None, catalog: Catalog | None = None) -> None:
        self.config = config if config is not None else PricingConfig()
        self.catalog: Catalog = catalog if catalog is not None else GenaiPricesCatalog()
        self._entries: dict[tuple[str, str, str | None], EpochCards] = {}
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

    def _entry(self, provider: str, model: str, service_tier: str | None) -> EpochCards:
        key = (provider, model, service_tier)
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= _MAX_ENTRIES:  # bounded: model names come from callers
                self._entries.clear()
            entry = self._entries[key] = self._resolve(provider, model, service_tier)
        return entry

    def _resolve(self, provider: str, model: str, service_tier: str | None) -> EpochCards:
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

    def _catalog_entry(
        self, found: CatalogModel, overrides: list[ModelPriceOverride], service_tier: str | None
    ) -> EpochCards:
        version = self.catalog.version

        def build(at: datetime, _epoch: int) -> RateCard:
            raw = found.raw_prices(at, service_tier)
            override = active_override(overrides, at)
            source: RateSource = "catalog"
            tier_note = f" [{service_tier}]" if found.tier_applies(at, service_tier) else ""
            since = found.price_since(at, service_tier if tier_note else None)
            ref = (
                f"{version}: {found.provider_id}/{found.model_id}{f' @ {since}' if since else ''}{tier_note}"
            )
            if override is not None:
                raw, source, since = apply_override(raw, override), "override", override.effective_from
                ref = override_ref(override)
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
        return EpochCards(
            build,
            known=True,
            names=(found.provider_id, found.model_id),
            breaks=tuple(midnight(day) for day in sorted(days)),
            time_of_day=found.time_of_day,
        )

    def _unknown_entry(self, provider: str, model: str, overrides: list[ModelPriceOverride]) -> EpochCards:
        fallback = self._fallback

        def build(at: datetime, _epoch: int) -> RateCard:
            override = active_override(overrides, at)
            if override is None:
                return fallback
            rates = build_rates(
                raw_prices(override, override.tiers),
                provider=provider,
                model=model,
                source="override",
                price_ref=override_ref(override),
                effective_from=override.effective_from,
            )
            return RateCard.of(rates)

        days = sorted({item.effective_from for item in overrides if item.effective_from})
        return EpochCards(
            build,
            known=bool(overrides),
            names=(provider, model),
            breaks=tuple(midnight(day) for day in days),
        )

    @staticmethod
    def _custom_entry(custom: CustomModel, provider: str) -> EpochCards:
        sets: list[tuple[date | None, PriceRates]] = [
            (None, custom),
            *((d.effective_from, d) for d in custom.prices_from),
        ]

        def build(_at: datetime, epoch: int) -> RateCard:
            since, prices = sets[epoch]
            rates = build_rates(
                raw_prices(prices, prices.tiers),
                provider=custom.provider,
                model=custom.model,
                source="custom",
                price_ref=f"custom:{custom.model}{f' from {since}' if since else ''}",
                effective_from=since,
            )
            return RateCard.of(rates)

        breaks = tuple(midnight(d.effective_from) for d in custom.prices_from)
        return EpochCards(build, known=True, names=(provider, custom.model.strip()), breaks=breaks)

    @staticmethod
    def _local_entry(local: LocalProvider, provider: str, model: str) -> EpochCards:
        rates = build_rates(
            {},
            provider=local.provider,
            model=model,
            source="local",
            price_ref=f"local:{local.provider}",
            hardware_per_hour=local.cost_per_hour,
        )
        card = RateCard.of(rates)
        return EpochCards(lambda _at, _epoch: card, known=True, names=(provider, model.strip()))
