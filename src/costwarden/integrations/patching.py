"""Build the wrapped copy of a client: which resource methods are patched, and how."""

from __future__ import annotations

from typing import Any

from costwarden.integrations.adapter import Endpoint
from costwarden.integrations.managers import async_stream_helper, stream_helper
from costwarden.integrations.wrapper import Binding, Context, resolve

__all__ = ["patch_client", "WRAPPED_MARK"]

WRAPPED_MARK = "_costwarden_wrapped"


def _resource(client: Any, path: tuple[str, ...]) -> Any | None:
    try:
        return resolve(client, path)
    except (AttributeError, ImportError):
        return None


def patch_client(client: Any, ctx: Context) -> Any:
    """A fresh copy of `client` with the endpoints of `ctx.adapter` patched."""
    adapter = ctx.adapter
    copy = adapter.copy(client)
    asynchronous = adapter.is_async(copy)
    endpoint: Endpoint
    for endpoint in adapter.endpoints:
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
