"""Capture where the calls happen: SDK wrappers (OpenAI, Anthropic) and the LiteLLM callback.

    client = warden.wrap(openai.OpenAI())          # same shape; every call admitted and recorded

The SDKs are optional extras: nothing here imports them; `wrap_client` asks the provider registry
(`costwarden.integrations.providers`) which adapter recognises the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from costwarden.integrations.options import wrap_options

if TYPE_CHECKING:
    from costwarden.core.recorder import Admitter

__all__ = ["wrap_client", "is_wrapped"]

_C = TypeVar("_C")


def is_wrapped(client: Any) -> bool:
    """True for a client returned by `wrap_client`."""
    from costwarden.integrations.patching import WRAPPED_MARK

    return WRAPPED_MARK in getattr(client, "__dict__", {})


def wrap_client(warden: Admitter, client: _C, **defaults: Any) -> _C:
    """A copy of `client` (OpenAI, AsyncOpenAI, Anthropic, AsyncAnthropic and their Azure/Bedrock/Vertex
    variants, or a client of any registered provider adapter) whose LLM calls are admitted, measured and
    recorded by `warden`.

    `defaults`: see `costwarden.integrations.options` (provider, attribution, tags, fallbacks, clients,
    allow_fallback, capabilities). The original client is left untouched.
    """
    from costwarden.integrations.providers import adapter_for_client, adapters

    if is_wrapped(client):
        raise TypeError("this client is already wrapped; wrap the original client instead")
    adapter = adapter_for_client(client)
    if adapter is None:
        known = " or ".join(a.name for a in reversed(adapters()))
        raise TypeError(
            f"cannot wrap {type(client).__module__}.{type(client).__qualname__}: expected a client of a "
            f"registered provider ({known}; for LiteLLM use costwarden.integrations.litellm.CostwardenLogger)"
        )
    from costwarden.integrations.patching import patch_client
    from costwarden.integrations.wrapper import Context

    options = wrap_options(adapter.default_provider(client), defaults)
    return patch_client(client, Context(warden=warden, options=options, adapter=adapter))  # type: ignore[no-any-return]
