"""The bundled price catalog (genai-prices, offline data): provider names, model lookup, dated epochs.

genai-prices is imported on first use, never at import time. Its types are used duck-typed here so the
rest of the price book never sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from costwarden.core.price_rates import RawPrice

__all__ = [
    "PROVIDER_ALIASES",
    "CATALOG_NAME",
    "normalize_provider",
    "price_context",
    "CatalogModel",
    "Catalog",
    "midnight",
    "windows_active",
]

CATALOG_NAME = "genai-prices"

PROVIDER_ALIASES: Mapping[str, str] = {
    "claude": "anthropic",
    "claude-code": "anthropic",
    "claude_code": "anthropic",
    "gpt": "openai",
    "chatgpt": "openai",
    "codex": "openai",
    "openai-responses": "openai",
    "gemini": "google",
    "google-gla": "google",
    "google-vertex": "google",
    "google_genai": "google",
    "vertex": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "bedrock": "aws",
    "aws-bedrock": "aws",
    "amazon": "aws",
    "amazon-bedrock": "aws",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "azure_ai": "azure",
    "xai": "x-ai",
    "grok": "x-ai",
    "kimi": "moonshotai",
    "moonshot": "moonshotai",
    "mistralai": "mistral",
    "together_ai": "together",
    "togetherai": "together",
    "fireworks_ai": "fireworks",
    "fireworks-ai": "fireworks",
    "zhipu": "zhipuai",
    "llama.cpp": "llamacpp",
    "lm-studio": "lmstudio",
    "lm_studio": "lmstudio",
}
"""Provider names as callers spell them -> genai-prices provider ids (or our local provider names)."""

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


def normalize_provider(name: str) -> str:
    """Lower-case, trimmed, with common aliases mapped (`gemini` -> `google`, `bedrock` -> `aws`, ...)."""
    key = name.strip().lower()
    return PROVIDER_ALIASES.get(key, key)


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


def midnight(day: date) -> datetime:
    """00:00 UTC of `day` (start-date constraints are UTC dates)."""
    return datetime.combine(day, time(), tzinfo=UTC)


def _utc_micros(value: time) -> int:
    if value.tzinfo is not None:
        value = datetime.combine(date(1970, 1, 1), value).astimezone(UTC).time()
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _window(constraint: Any) -> tuple[int, int]:
    return _utc_micros(constraint.start_time), _utc_micros(constraint.end_time)


def windows_active(windows: tuple[tuple[int, int], ...], at: datetime) -> int:
    """Which time-of-day windows contain `at` (a UTC datetime), as a bit mask; same rule as genai-prices."""
    now = ((at.hour * 60 + at.minute) * 60 + at.second) * 1_000_000 + at.microsecond
    mask = 0
    for start, end in windows:
        mask <<= 1
        if (start <= now < end) if start <= end else (now >= start or now < end):
            mask |= 1
    return mask


def _raw(value: Any) -> RawPrice | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return (value, ())
    return (value.base, tuple((int(tier.start), tier.price) for tier in value.tiers))


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One catalog model as reached through one provider."""

    provider_id: str
    model_id: str
    info: Any
    own: bool
    """The model belongs to `provider_id` (not borrowed from a fallback provider): price variants apply."""
    breaks: tuple[date, ...]
    """Start dates of dated prices and variants: the price can only change at these days."""
    time_of_day: tuple[tuple[int, int], ...]
    """Time-of-day windows (off-peak prices) as UTC microseconds of the day `[start, end)`; which of them
    are active is part of the epoch."""

    def raw_prices(self, at: datetime, context: Mapping[str, str] | None) -> dict[str, RawPrice]:
        """Raw rates at `at` with `context`, as genai-prices' own `calc_price` resolves them."""
        model_price = self.info.get_prices(at, context if self.own else None)
        out: dict[str, RawPrice] = {}
        for name, key in _PRICE_KEYS.items():
            raw = _raw(getattr(model_price, key, None))
            if raw is not None:
                out[name] = raw
        return out

    def price_since(self, at: datetime, context: Mapping[str, str] | None) -> date | None:
        """Start date of the dated price (or matching price variant) in effect at `at`; None if undated."""
        day = at.astimezone(UTC).date()
        constraints = [c.constraint for c in self.info.prices] if isinstance(self.info.prices, list) else []
        if context and self.own:
            constraints += [
                variant.constraint
                for variant in self.info.price_variants or ()
                if all(context.get(key) == value for key, value in variant.when.items())
            ]
        starts = [start for c in constraints if isinstance(start := getattr(c, "start_date", None), date)]
        return max((start for start in starts if start <= day), default=None)

    def variant_applies(self, at: datetime, context: Mapping[str, str] | None) -> bool:
        """Whether `context` changes any price at `at` (a service tier that has its own prices)."""
        return bool(context) and self.own and self.raw_prices(at, context) != self.raw_prices(at, None)


class Catalog:
    """Lazy access to the genai-prices data snapshot."""

    def __init__(self) -> None:
        self._snapshot: Any = None
        self._version: str | None = None
        self._provider_known: dict[str, bool] = {}

    @property
    def snapshot(self) -> Any:
        if self._snapshot is None:
            from genai_prices import data_snapshot

            self._snapshot = data_snapshot.get_snapshot()
        return self._snapshot

    @property
    def version(self) -> str:
        """`genai-prices 0.2.3`."""
        if self._version is None:
            import genai_prices

            self._version = f"{CATALOG_NAME} {genai_prices.__version__}"
        return self._version

    def is_provider(self, provider: str) -> bool:
        """Whether genai-prices knows this provider id (after normalisation)."""
        known = self._provider_known.get(provider)
        if known is None:
            from genai_prices.data_snapshot import find_provider_by_id

            known = find_provider_by_id(self.snapshot.providers, provider) is not None
            self._provider_known[provider] = known
        return known

    def find(self, provider: str | None, model: str) -> CatalogModel | None:
        """The model through `provider` (None: the provider whose models match the name), or None."""
        try:
            found_provider, info = self.snapshot.find_provider_model(model, None, provider, None)
        except LookupError:
            return None
        from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

        constraints = [c.constraint for c in info.prices] if isinstance(info.prices, list) else []
        constraints += [variant.constraint for variant in info.price_variants or ()]
        breaks = sorted({c.start_date for c in constraints if isinstance(c, StartDateConstraint)})
        time_of_day = tuple(_window(c) for c in constraints if isinstance(c, TimeOfDateConstraint))
        return CatalogModel(
            provider_id=found_provider.id,
            model_id=info.id,
            info=info,
            own=any(info is candidate for candidate in found_provider.models),
            breaks=tuple(breaks),
            time_of_day=time_of_day,
        )

    def models(self, provider: str | None = None) -> list[tuple[str, str]]:
        """`(provider_id, model_id)` of every catalog model (of one provider when given)."""
        wanted = normalize_provider(provider) if provider else None
        return sorted(
            (item.id, model.id)
            for item in self.snapshot.providers
            if wanted is None or item.id == wanted
            for model in item.models
        )
