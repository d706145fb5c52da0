"""Capture where the calls happen: SDK wrappers (OpenAI, Anthropic) and the LiteLLM callback.

    client = warden.wrap(openai.OpenAI())          # same shape; every call admitted and recorded

The SDKs are optional extras: nothing here imports them; `wrap_client` recognises a client by its class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from costwarden.integrations.options import wrap_options

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["wrap_client", "is_wrapped"]

_C = TypeVar("_C")


def _family(client: Any) -> str | None:
    for cls in type(client).__mro__:
        root = cls.__module__.split(".", 1)[0]
        if root in ("openai", "anthropic"):
            return root
    return None


def is_wrapped(client: Any) -> bool:
    """True for a client returned by `wrap_client`."""
    from costwarden.integrations.patching import WRAPPED_MARK

    return WRAPPED_MARK in getattr(client, "__dict__", {})


def wrap_client(warden: Warden, client: _C, **defaults: Any) -> _C:
    """A copy of `client` (OpenAI, AsyncOpenAI, Anthropic, AsyncAnthropic and their Azure/Bedrock/Vertex
    variants) whose LLM calls are admitted, measured and recorded by `warden`.

    `defaults`: see `costwarden.integrations.options` (provider, attribution, tags, fallbacks, clients,
    allow_fallback, capabilities). The original client is left untouched.
    """
    if is_wrapped(client):
        raise TypeError("this client is already wrapped; wrap the original client instead")
    family = _family(client)
    if family == "openai":
        from costwarden.integrations import openai as sdk_openai
        from costwarden.integrations.wrapper import Context

        options = wrap_options(sdk_openai.default_provider(client), defaults)
        ctx = Context(warden=warden, options=options, raw_value=sdk_openai.RAW_VALUE)
        return sdk_openai.wrap_openai(client, ctx)  # type: ignore[no-any-return]
    if family == "anthropic":
        from costwarden.integrations import anthropic as sdk_anthropic
        from costwarden.integrations.wrapper import Context

        options = wrap_options(sdk_anthropic.default_provider(client), defaults)
        ctx = Context(warden=warden, options=options, raw_value=sdk_anthropic.RAW_VALUE)
        return sdk_anthropic.wrap_anthropic(client, ctx)  # type: ignore[no-any-return]
    raise TypeError(
        f"cannot wrap {type(client).__module__}.{type(client).__qualname__}: expected an openai or anthropic "
        "client (for LiteLLM use costwarden.integrations.litellm.CostwardenLogger)"
    )
