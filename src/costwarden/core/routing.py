"""Providers and fallback chains: the `providers:` config section and the choice of an alternative.

    providers:
      - name: anthropic           # the provider id calls and events use
        kind: per_token           # per_token | subscription | local
        models: [claude-sonnet-4-5, {name: claude-haiku-4-5, capabilities: [tool_calls, streaming]}]
        capabilities: [tool_calls, streaming, vision, json_mode, reasoning]
        context_window: 200000
        cost_tier: high
        priority: 10              # lower comes first in a chain

A fallback spec (a budget's `fallback:` list) names routes: `provider/model`, `provider` (its first model),
`local` (every local provider), `kind:subscription`, `tier:low` (every route whose `cost_tier` is `low`), or
`chain` (every route, by priority). A candidate is
skipped when it lacks a capability the call needs, cannot hold the call's tokens, or is the route that was
refused; the budgets then decide which of the remaining candidates has room.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from costwarden.core.config_fields import Section

__all__ = [
    "CAPABILITIES",
    "ModelConfig",
    "ProviderConfig",
    "Route",
    "ProviderRegistry",
]

CAPABILITIES: tuple[str, ...] = ("tool_calls", "streaming", "vision", "json_mode", "reasoning")


def _check_capabilities(values: list[str] | None) -> list[str] | None:
    for value in values or ():
        if value not in CAPABILITIES:
            raise ValueError(f"unknown capability {value!r}; choose from {', '.join(CAPABILITIES)}")
    return values


class ModelConfig(Section):
    """One model of a provider; unset fields are inherited from the provider."""

    name: str = Field(min_length=1)
    capabilities: list[str] | None = None
    context_window: int | None = Field(default=None, ge=1)
    cost_tier: str | None = None

    _caps = field_validator("capabilities")(_check_capabilities)


class ProviderConfig(Section):
    """One provider (backend) of the registry."""

    name: str = Field(min_length=1)
    kind: Literal["per_token", "subscription", "local"] = "per_token"
    models: list[ModelConfig] = Field(min_length=1)
    capabilities: list[str] = Field(default_factory=list)
    context_window: int | None = Field(default=None, ge=1)
    cost_tier: str | None = None
    priority: int = 100
    enabled: bool = True

    _caps = field_validator("capabilities")(_check_capabilities)

    @field_validator("models", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _unique_models(self) -> ProviderConfig:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError("a model is listed twice")
        return self


@dataclass(frozen=True, slots=True)
class Route:
    """A provider/model pair with what it can do."""

    provider: str
    model: str
    kind: str | None = None
    capabilities: frozenset[str] | None = None
    """None: unknown (the provider is not in the registry)."""
    context_window: int | None = None
    cost_tier: str | None = None
    priority: int = 100

    @property
    def local(self) -> bool:
        return self.kind == "local"

    def fits(self, capabilities: Iterable[str], tokens: int) -> bool:
        """True when the route has every capability in `capabilities` and a context window for `tokens`."""
        needed = frozenset(capabilities)
        if needed and (self.capabilities is None or not needed <= self.capabilities):
            return False
        return self.context_window is None or tokens <= self.context_window


class ProviderRegistry:
    """The configured providers, as routes in priority order."""

    def __init__(self, providers: Iterable[ProviderConfig] = ()) -> None:
        self.providers: dict[str, ProviderConfig] = {}
        routes: list[Route] = []
        for provider in providers:
            if provider.name in self.providers:
                raise ValueError(f"provider {provider.name!r} is listed twice")
            self.providers[provider.name] = provider
            if not provider.enabled:
                continue
            for model in provider.models:
                caps = model.capabilities if model.capabilities is not None else provider.capabilities
                routes.append(
                    Route(
                        provider=provider.name,
                        model=model.name,
                        kind=provider.kind,
                        capabilities=frozenset(caps),
                        context_window=model.context_window or provider.context_window,
                        cost_tier=model.cost_tier or provider.cost_tier,
                        priority=provider.priority,
                    )
                )
        self.routes: tuple[Route, ...] = tuple(sorted(routes, key=lambda r: r.priority))
        self._by_pair = {(r.provider, r.model): r for r in self.routes}

    def __bool__(self) -> bool:
        return bool(self.providers)

    def kind(self, provider: str) -> str | None:
        entry = self.providers.get(provider)
        return entry.kind if entry is not None else None

    def route(self, provider: str, model: str) -> Route:
        """The registry's route for a pair, or an unknown-capabilities route for an unlisted one."""
        known = self._by_pair.get((provider, model))
        if known is not None:
            return known
        entry = self.providers.get(provider)
        if entry is not None:
            return Route(
                provider,
                model,
                entry.kind,
                frozenset(entry.capabilities),
                entry.context_window,
                entry.cost_tier,
                entry.priority,
            )
        return Route(provider, model)

    def expand(self, spec: Iterable[str]) -> list[Route]:
        """Routes named by a fallback spec, in spec order, without duplicates."""
        out: dict[tuple[str, str], Route] = {}
        for item in spec:
            if item in ("chain", "any"):
                found = list(self.routes)
            elif item == "local":
                found = [r for r in self.routes if r.local]
            elif item.startswith("kind:"):
                found = [r for r in self.routes if r.kind == item[5:]]
            elif item.startswith("tier:"):
                found = [r for r in self.routes if r.cost_tier == item[5:]]
            elif "/" in item:
                provider, _, model = item.partition("/")
                found = [self.route(provider, model)]
            else:
                found = [r for r in self.routes if r.provider == item][:1]
            for route in found:
                out.setdefault((route.provider, route.model), route)
        return list(out.values())

    def candidates(
        self,
        *,
        refused: tuple[str, str],
        spec: Iterable[str],
        explicit: Iterable[tuple[str, str]] = (),
        capabilities: Iterable[str] = (),
        tokens: int = 0,
        order: str = "listed",
        cost_of: Callable[[Route], Decimal] | None = None,
    ) -> list[Route]:
        """Fallback routes for a refused call, best first.

        `explicit` (the caller's own `fallbacks`) come first and are trusted when the registry does not know
        them; `spec` routes follow. Routes lacking a needed capability or context window are dropped.
        `order`: `listed` keeps spec order, `priority` sorts by provider priority, `cost` by `cost_of`.
        """
        needed = frozenset(capabilities)
        out: list[Route] = []
        seen = {refused}
        for provider, model in explicit:
            route = self.route(provider, model)
            if (provider, model) in seen:
                continue
            if route.capabilities is not None and not route.fits(needed, tokens):
                continue
            seen.add((provider, model))
            out.append(route)
        listed = [
            r for r in self.expand(spec) if (r.provider, r.model) not in seen and r.fits(needed, tokens)
        ]
        if order == "priority":
            listed.sort(key=lambda r: r.priority)
        elif order == "cost" and cost_of is not None:
            listed.sort(key=cost_of)
        return out + listed
