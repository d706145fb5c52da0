"""`warden.wrap(openai.OpenAI())` / `warden.wrap(openai.AsyncOpenAI())`.

Covered: `chat.completions.create` (plain and `stream=True`), `chat.completions.parse`,
`chat.completions.stream(...)` (the helper sends through `create`), `responses.create`,
`responses.parse`, `responses.stream(...)`; their `with_raw_response` and `with_streaming_response`
variants. Chat streams get `stream_options={"include_usage": True}` unless the caller set `include_usage`.
"""

from __future__ import annotations

from typing import Any

from costwarden.integrations.kinds import OPENAI_CHAT, OPENAI_RESPONSES
from costwarden.integrations.patching import Endpoint, patch_client
from costwarden.integrations.wrapper import Context

__all__ = ["ENDPOINTS", "RAW_VALUE", "default_provider", "wrap_openai"]

RAW_VALUE = "true"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(("chat", "completions"), "create", OPENAI_CHAT),
    Endpoint(("chat", "completions"), "parse", OPENAI_CHAT),
    Endpoint(("responses",), "create", OPENAI_RESPONSES),
    Endpoint(("responses",), "parse", OPENAI_RESPONSES),
)


def default_provider(client: Any) -> str:
    """`azure` for the Azure clients, else `openai` (pass `provider=` for other compatible endpoints)."""
    names = {cls.__name__ for cls in type(client).__mro__}
    return "azure" if names & {"AzureOpenAI", "AsyncAzureOpenAI"} else "openai"


def wrap_openai(client: Any, ctx: Context) -> Any:
    """A copy of `client` whose covered methods report to `ctx.warden`."""
    return patch_client(client.with_options(), ctx, ENDPOINTS)
