"""Which upstream serves a model: aliases, `upstream/model` names, the upstreams' model lists, and a
default upstream per wire format.

A request's model is resolved, first match wins:
1. an alias (`gateway.aliases`): its target is resolved in turn (`upstream/model` or a model name);
2. `upstream/model` where `upstream` is an upstream's name;
3. an upstream listing the model in `models` (one speaking the client's wire format first);
4. the first upstream with no `models` list that speaks the client's wire format.
A fallback chosen by the budgets names a provider and model: the upstream is the one whose provider id
matches and that lists the model (or lists none), preferring the client's wire format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from costwarden.gateway.config import GatewayConfig, UpstreamConfig

__all__ = ["Target", "Router", "UnknownModel"]


class UnknownModel(LookupError):
    """No upstream serves the model asked for (the message says which names are known)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one call goes: the upstream, the model name it is sent with, and the provider id it is priced
    and budgeted under."""

    upstream: UpstreamConfig
    model: str

    @property
    def provider(self) -> str:
        return self.upstream.provider_id

    @property
    def api(self) -> str:
        return self.upstream.api


class Router:
    """Resolves model names to targets (see the module doc)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.upstreams = {u.name: u for u in config.upstreams}
        self._listed: dict[str, list[UpstreamConfig]] = {}
        for upstream in config.upstreams:
            for model in upstream.models:
                self._listed.setdefault(model, []).append(upstream)
        self._cache: dict[tuple[str, str], Target] = {}

    def resolve(self, model: str, api: str) -> Target:
        """The target of a model name asked for by a client speaking `api` (`openai` / `anthropic`)."""
        key = (model, api)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(model, api, depth=0)
            if len(self._cache) < 4096:
                self._cache[key] = found
        return found

    def _resolve(self, model: str, api: str, depth: int) -> Target:
        alias = self.config.aliases.get(model)
        if alias is not None and depth < 4:
            return self._resolve(alias, api, depth + 1)
        name, sep, rest = model.partition("/")
        if sep and rest and name in self.upstreams:
            return Target(self.upstreams[name], rest)
        listed = self._listed.get(model)
        if listed:
            return Target(_prefer(listed, api), model)
        for upstream in self.config.upstreams:
            if not upstream.models and upstream.api == api:
                return Target(upstream, model)
        raise UnknownModel(self._unknown(model))

    def _unknown(self, model: str) -> str:
        names = sorted({*self.config.aliases, *self._listed})
        known = f"; known models: {', '.join(names)}" if names else ""
        if not self.config.upstreams:
            return "the gateway has no upstream configured (gateway.upstreams in the config file)"
        return f"no upstream of the gateway serves model {model!r}{known}"

    def for_route(self, provider: str, model: str, api: str) -> Target | None:
        """The target serving `provider`/`model` (a fallback the budgets chose), or None."""
        candidates = [
            u
            for u in self.config.upstreams
            if u.provider_id == provider and (not u.models or model in u.models)
        ]
        if not candidates:
            return None
        return Target(_prefer(candidates, api), model)

    def models(self) -> list[tuple[str, str]]:
        """(model name, upstream name) of every model a client can ask for by name: aliases first."""
        out: dict[str, str] = {}
        for alias, target in self.config.aliases.items():
            owner = target.partition("/")[0] if "/" in target else ""
            out.setdefault(alias, owner if owner in self.upstreams else "alias")
        for upstream in self.config.upstreams:
            for model in upstream.models:
                out.setdefault(model, upstream.name)
        return list(out.items())


def _prefer(upstreams: Iterable[UpstreamConfig], api: str) -> UpstreamConfig:
    listed = list(upstreams)
    for upstream in listed:
        if upstream.api == api:
            return upstream
    return listed[0]
