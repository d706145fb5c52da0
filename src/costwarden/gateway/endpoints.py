"""The endpoints the gateway serves: which wire format each speaks and where it goes upstream."""

from __future__ import annotations

from dataclasses import dataclass

from costwarden.integrations.kinds import Kind
from costwarden.integrations.providers.anthropic import MESSAGES
from costwarden.integrations.providers.openai import CHAT, RESPONSES

__all__ = ["Endpoint", "ENDPOINTS", "MODELS_PATHS"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A POST endpoint: the client's wire format (`openai` / `anthropic`), the `Kind` that reads its
    requests and responses (None: nothing is admitted or recorded, e.g. `count_tokens`), and its path
    below an upstream's base URL."""

    name: str
    api: str
    kind: Kind | None
    path: str


_CHAT = Endpoint("chat", "openai", CHAT, "/chat/completions")
_RESPONSES = Endpoint("responses", "openai", RESPONSES, "/responses")
_MESSAGES = Endpoint("messages", "anthropic", MESSAGES, "/v1/messages")
_COUNT = Endpoint("count_tokens", "anthropic", None, "/v1/messages/count_tokens")

ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": _CHAT,
    "/chat/completions": _CHAT,
    "/v1/responses": _RESPONSES,
    "/responses": _RESPONSES,
    "/v1/messages": _MESSAGES,
    "/v1/messages/count_tokens": _COUNT,
    "/messages": _MESSAGES,
    "/messages/count_tokens": _COUNT,
}
"""POST paths: OpenAI clients use the base URL `http://gateway/v1` (some send no `/v1`); Anthropic
clients use the host, as their SDK does. Mounted at `/v1` in `costwarden serve` (`gateway.mount`), the
gateway sees the paths below it (`/chat/completions`, `/messages`)."""

MODELS_PATHS = frozenset({"/v1/models", "/models"})
