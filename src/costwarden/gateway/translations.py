"""Which translation a call takes: a client speaking one wire format, an upstream speaking the other."""

from __future__ import annotations

from costwarden.gateway.translate import AnthropicToChat, ChatToAnthropic, Translation
from costwarden.gateway.translate_responses import ResponsesToAnthropic

__all__ = ["translation_for"]


def translation_for(
    client_api: str, endpoint: str, upstream_api: str, default_max_tokens: int
) -> Translation | None:
    """The translation for a client of `client_api` on `endpoint` (`chat`, `responses`, `messages`) to an
    upstream of `upstream_api`, or None when the gateway cannot translate it."""
    if client_api == "anthropic" and endpoint == "messages" and upstream_api == "openai":
        return AnthropicToChat()
    if client_api == "openai" and upstream_api == "anthropic":
        if endpoint == "chat":
            return ChatToAnthropic(default_max_tokens)
        if endpoint == "responses":
            return ResponsesToAnthropic(default_max_tokens)
    return None
