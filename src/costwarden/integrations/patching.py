"""Build the wrapped copy of a client: which resource methods are patched, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from costwarden.integrations.kinds import Kind
from costwarden.integrations.managers import async_stream_helper, stream_helper
from costwarden.integrations.wrapper import Binding, Context, resolve

__all__ = ["Endpoint", "patch_client", "is_async_client", "WRAPPED_MARK"]

WRAPPED_MARK = "_costwarden_wrapped"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A method to patch: `path` to the resource, the method name, its wire format and style."""

    path: tuple[str, ...]
    method: str
    kind: Kind
    helper: bool = False
    """True for `stream(...)` helpers that send the request themselves and return a context manager."""


def is_async_client(client: Any) -> bool:
    return any(cls.__name__.startswith("Async") for cls in type(client).__mro__)


def _resource(client: Any, path: tuple[str, ...]) -> Any | None:
    try:
        return resolve(client, path)
    except (AttributeError, ImportError):
        return None


def patch_client(copy: Any, ctx: Context, endpoints: tuple[Endpoint, ...]) -> Any:
    """Patch `endpoints` on `copy` (a fresh copy of the caller's client) and return it."""
    asynchronous = is_async_client(copy)
    for endpoint in endpoints:
        resource = _resource(copy, endpoint.path)
        if resource is None or not hasattr(type(resource), endpoint.method):
            continue
        binding = Binding(ctx, resource, endpoint.path, endpoint.method, endpoint.kind)
        if endpoint.helper:
            method = async_stream_helper(binding) if asynchronous else stream_helper(binding)
        else:
            method = binding.async_method() if asynchronous else binding.sync_method()
        setattr(resource, endpoint.method, method)
    setattr(copy, WRAPPED_MARK, ctx)
    return copy
