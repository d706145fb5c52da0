"""The provider registry: one `ProviderAdapter` per provider SDK, shared by `warden.wrap(client)`, the
importers and the gateway.

    from costwarden.integrations.providers import adapter_for_client, adapter_named, register

    adapter_named("anthropic").wires["messages"].usage_block(block)   # a logged usage block -> Usage
    register(MY_ADAPTER)                                              # warden.wrap() now takes its clients

The built-in adapters (`openai`, `anthropic`: one module each in this package) are loaded on the first
lookup; importing them imports no SDK. Adapters registered later are asked first, so a registered
adapter can take over clients a built-in one also recognises.
"""

from __future__ import annotations

import importlib
from typing import Any

from costwarden.forking import ForkSafeLock
from costwarden.integrations.adapter import ProviderAdapter

__all__ = ["BUILT_IN", "register", "unregister", "adapter_named", "adapter_for_client", "adapters"]

BUILT_IN = ("openai", "anthropic")
"""The modules of this package holding a built-in adapter (`ADAPTER`)."""

_lock = ForkSafeLock()  # free in a forked child even if a parent thread was registering
_adapters: dict[str, ProviderAdapter] = {}
_loaded = False


def _load_built_in() -> None:
    if not _loaded:
        _load_once()


def _load_once() -> None:
    global _loaded
    with _lock:
        if _loaded:  # another thread was first
            return
        for module in BUILT_IN:
            adapter: ProviderAdapter = importlib.import_module(f"{__name__}.{module}").ADAPTER
            _adapters.setdefault(adapter.name, adapter)
        _loaded = True


def register(adapter: ProviderAdapter, *, replace: bool = False) -> ProviderAdapter:
    """Add `adapter` to the registry and return it. Its name must be new unless `replace=True`: then it
    takes the place of the adapter of that name, in its turn among the others."""
    if not isinstance(adapter, ProviderAdapter):
        raise TypeError(f"register(): expected a ProviderAdapter, got {type(adapter).__qualname__}")
    if not isinstance(adapter.name, str) or not adapter.name:
        raise ValueError("register(): the adapter needs a non-empty name")
    _load_built_in()
    with _lock:
        if adapter.name in _adapters and not replace:
            raise ValueError(
                f"a provider adapter named {adapter.name!r} is already registered (pass replace=True)"
            )
        _adapters[adapter.name] = adapter
    return adapter


def unregister(name: str) -> None:
    """Remove the adapter called `name` (a built-in one comes back after `register` of its module's
    `ADAPTER`)."""
    _load_built_in()
    with _lock:
        if _adapters.pop(name, None) is None:
            raise KeyError(f"no provider adapter named {name!r}; registered: {', '.join(_adapters)}")


def adapters() -> tuple[ProviderAdapter, ...]:
    """Every registered adapter, the latest registered first."""
    _load_built_in()
    with _lock:
        return tuple(reversed(_adapters.values()))


def adapter_named(name: str) -> ProviderAdapter:
    """The adapter registered as `name` (KeyError naming the registered ones otherwise)."""
    _load_built_in()
    found = _adapters.get(name)
    if found is None:
        raise KeyError(f"no provider adapter named {name!r}; registered: {', '.join(_adapters)}")
    return found


def adapter_for_client(client: Any) -> ProviderAdapter | None:
    """The adapter that recognises `client` (the latest registered first), or None."""
    for adapter in adapters():
        if adapter.matches(client):
            return adapter
    return None
