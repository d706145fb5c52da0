"""`warden.wrap(anthropic.Anthropic())` / `warden.wrap(anthropic.AsyncAnthropic())`.

Covered: `messages.create` (plain and `stream=True`), `messages.parse`, `messages.stream(...)` (the
context manager helper), the same under `beta.messages`, and the `with_raw_response` /
`with_streaming_response` variants of `create`.
"""

from __future__ import annotations

from typing import Any

from costwarden.integrations.kinds import ANTHROPIC_MESSAGES
from costwarden.integrations.patching import Endpoint, patch_client
from costwarden.integrations.wrapper import Context

__all__ = ["ENDPOINTS", "RAW_VALUE", "default_provider", "wrap_anthropic"]

RAW_VALUE = "raw"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(("messages",), "create", ANTHROPIC_MESSAGES),
    Endpoint(("messages",), "parse", ANTHROPIC_MESSAGES),
    Endpoint(("messages",), "stream", ANTHROPIC_MESSAGES, helper=True),
    Endpoint(("beta", "messages"), "create", ANTHROPIC_MESSAGES),
    Endpoint(("beta", "messages"), "parse", ANTHROPIC_MESSAGES),
    Endpoint(("beta", "messages"), "stream", ANTHROPIC_MESSAGES, helper=True),
)


def default_provider(client: Any) -> str:
    """`anthropic`; Bedrock and Vertex clients are `aws-bedrock` and `google-vertex`."""
    names = {cls.__name__ for cls in type(client).__mro__}
    if names & {"AnthropicBedrock", "AsyncAnthropicBedrock"}:
        return "aws-bedrock"
    if names & {"AnthropicVertex", "AsyncAnthropicVertex"}:
        return "google-vertex"
    return "anthropic"


def wrap_anthropic(client: Any, ctx: Context) -> Any:
    """A copy of `client` whose covered methods report to `ctx.warden`."""
    return patch_client(client.with_options(), ctx, ENDPOINTS)
