"""Options of a wrapped client (`warden.wrap(client, **defaults)`) and of one call (`costwarden_*` kwargs).

Wrap-time defaults (all optional):

- `provider`: provider id for pricing and budgets (default from the client: `openai`, `azure`, `anthropic`);
- attribution: `project`, `agent`, `session`, `run`, `task`, `task_type`, `plan`, `user`, `tags`;
- `fallbacks`: models (or `(provider, model)` pairs) the budget engine may switch to when the requested
  model is over budget; a bare model name means the same provider;
- `clients`: `{provider: client}` for fallbacks to another provider of the same SDK (for example an
  OpenAI-compatible endpoint); a fallback whose provider has no client here is never offered;
- `allow_fallback` (default True), `capabilities` (what a fallback must support, added to those
  derived from the call: `streaming`, `tool_calls`, `json_mode`, `vision`, `reasoning`).

Per call, the same names prefixed with `costwarden_` (e.g. `costwarden_agent="triage"`,
`costwarden_fallbacks=["gpt-5-mini"]`, `costwarden_event_id="..."` as idempotency key) override the
defaults; they are removed before the request is sent. Per-call attribution wins over the run context
(`warden.run(...)`), which wins over wrap-time defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from costwarden.context import current_attribution
from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution

__all__ = ["PREFIX", "WrapOptions", "CallOptions", "parse_fallbacks", "wrap_options", "pop_call_options"]

PREFIX = "costwarden_"
_WRAP_KEYS = frozenset(
    {*ATTRIBUTION_FIELDS, "tags", "provider", "fallbacks", "clients", "allow_fallback", "capabilities"}
)
_EMPTY = Attribution()
_CALL_KEYS = frozenset(
    {*ATTRIBUTION_FIELDS, "tags", "fallbacks", "allow_fallback", "capabilities", "event_id"}
)


@dataclass(frozen=True, slots=True)
class WrapOptions:
    """What `warden.wrap(client, ...)` was told."""

    provider: str
    attribution: Attribution = field(default_factory=Attribution)
    fallbacks: tuple[tuple[str, str], ...] = ()
    clients: Mapping[str, Any] = field(default_factory=dict)
    allow_fallback: bool = True
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CallOptions:
    """The `costwarden_*` options of one call, merged over the run context and the wrap-time defaults."""

    attribution: Attribution
    fallbacks: tuple[tuple[str, str], ...]
    allow_fallback: bool
    capabilities: frozenset[str]
    event_id: str | None = None


def parse_fallbacks(value: object, provider: str, name: str = "fallbacks") -> tuple[tuple[str, str], ...]:
    """`["gpt-5-mini", ("openrouter", "x/y")]` -> `(("openai", "gpt-5-mini"), ("openrouter", "x/y"))`."""
    if value is None:
        return ()
    items: Iterable[Any] = [value] if isinstance(value, str) else value  # type: ignore[assignment]
    if not isinstance(items, Iterable):
        raise TypeError(f"{name}: expected a list of model names or (provider, model) pairs, got {value!r}")
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, str) and item:
            out.append((provider, item))
        elif (
            isinstance(item, tuple | list) and len(item) == 2 and all(isinstance(x, str) and x for x in item)
        ):
            out.append((item[0], item[1]))
        else:
            raise TypeError(f"{name}: expected a model name or a (provider, model) pair, got {item!r}")
    return tuple(out)


def _attribution(values: Mapping[str, Any]) -> Attribution:
    return Attribution(**{k: values.get(k) for k in ATTRIBUTION_FIELDS}, tags=dict(values.get("tags") or {}))


def wrap_options(provider: str, defaults: Mapping[str, Any]) -> WrapOptions:
    """Validate `warden.wrap(...)` keyword arguments (unknown names raise TypeError)."""
    unknown = sorted(set(defaults) - _WRAP_KEYS)
    if unknown:
        raise TypeError(f"wrap() got unexpected keyword arguments: {', '.join(unknown)}")
    chosen = defaults.get("provider") or provider
    clients = dict(defaults.get("clients") or {})
    return WrapOptions(
        provider=chosen,
        attribution=_attribution(defaults),
        fallbacks=parse_fallbacks(defaults.get("fallbacks"), chosen),
        clients=clients,
        allow_fallback=bool(defaults.get("allow_fallback", True)),
        capabilities=frozenset(defaults.get("capabilities") or ()),
    )


def pop_call_options(kwargs: dict[str, Any], base: WrapOptions) -> CallOptions:
    """Remove every `costwarden_*` keyword from `kwargs` and merge it over the wrap-time defaults."""
    given: dict[str, Any] = {}
    for key in [k for k in kwargs if k.startswith(PREFIX)]:
        name = key[len(PREFIX) :]
        if name not in _CALL_KEYS:
            raise TypeError(f"unknown costwarden option {key!r}; known: {', '.join(sorted(_CALL_KEYS))}")
        given[name] = kwargs.pop(key)
    scope = current_attribution()
    if not given:
        attribution = base.attribution.merged(scope) if scope != _EMPTY else base.attribution
        return CallOptions(attribution, base.fallbacks, base.allow_fallback, base.capabilities)
    attribution = base.attribution.merged(scope).merged(_attribution(given))
    fallbacks = (
        parse_fallbacks(given["fallbacks"], base.provider, "costwarden_fallbacks")
        if "fallbacks" in given
        else base.fallbacks
    )
    event_id = given.get("event_id")
    if event_id is not None and not isinstance(event_id, str):
        raise TypeError(f"costwarden_event_id: expected a string, got {event_id!r}")
    return CallOptions(
        attribution=attribution,
        fallbacks=fallbacks,
        allow_fallback=bool(given.get("allow_fallback", base.allow_fallback)),
        capabilities=base.capabilities | frozenset(given.get("capabilities") or ()),
        event_id=event_id,
    )
