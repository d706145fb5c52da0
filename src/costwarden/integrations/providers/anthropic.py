"""Anthropic: `warden.wrap(anthropic.Anthropic())` / `warden.wrap(anthropic.AsyncAnthropic())` (and the
Bedrock and Vertex clients).

Covered: `messages.create` (plain and `stream=True`), `messages.parse`, `messages.stream(...)` (the
context manager helper), the same under `beta.messages`, and the `with_raw_response` /
`with_streaming_response` variants of `create`.

Wire format: `messages`. Anthropic's `input_tokens` are already uncached; cache reads and writes come
beside them, writes split into 5-minute and 1-hour slices by `cache_creation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costwarden.core.usage import Usage
from costwarden.integrations.adapter import Endpoint, SdkAdapter
from costwarden.integrations.kinds import Kind, positive_int
from costwarden.integrations.stream_state import StreamState
from costwarden.integrations.usage import count, field, slices

__all__ = ["ADAPTER", "MESSAGES", "MessagesState", "messages_usage"]


def messages_usage(usage: Any) -> Usage:
    """Anthropic `usage`: uncached input, cache reads, cache writes split 5m/1h, output."""
    creation = count(usage, "cache_creation_input_tokens")
    split = field(usage, "cache_creation")
    one_hour = count(split, "ephemeral_1h_input_tokens")
    five_min = count(split, "ephemeral_5m_input_tokens")
    if split is None or five_min + one_hour == 0:
        five_min, one_hour = creation, 0
    elif five_min + one_hour < creation:
        five_min = creation - one_hour
    return slices(
        input_tokens=count(usage, "input_tokens"),
        cache_read=count(usage, "cache_read_input_tokens"),
        cache_write=five_min,
        cache_write_1h=one_hour,
        output=count(usage, "output_tokens"),
        reasoning=count(usage, "output_tokens_details", "thinking_tokens"),
        web_search=count(usage, "server_tool_use", "web_search_requests"),
    )


class MessagesState(StreamState):
    """Messages events: input and cache usage in `message_start`, the final output in `message_delta`."""

    def __init__(self) -> None:
        super().__init__()
        self._usage: dict[str, Any] = {}

    def observe(self, item: Any) -> None:
        kind = field(item, "type")
        if kind == "content_block_delta":
            delta = field(item, "delta")
            self.add_text(field(delta, "text"))
            self.add_text(field(delta, "partial_json"))
            self.add_text(field(delta, "thinking"))
        elif kind == "message_start":
            message = field(item, "message")
            self.take_ids(message)
            self._merge(field(message, "usage"))
            tier = field(field(message, "usage"), "service_tier")
            if isinstance(tier, str):
                self.service_tier = tier
            self.partial = messages_usage(self._usage)
        elif kind == "message_delta":
            self._merge(field(item, "usage"))
            self.usage = messages_usage(self._usage)
            self.partial = self.usage
            self.complete = True

    def _merge(self, usage: Any) -> None:
        if usage is None:
            return
        data = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)
        for key, value in data.items():
            if value is not None:
                self._usage[key] = value


class _Messages(Kind):
    name = "anthropic.messages"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        return positive_int(kwargs.get("max_tokens"))

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps = super().capabilities(kwargs)
        config = kwargs.get("output_config")
        if kwargs.get("output_format") or (isinstance(config, Mapping) and config.get("format")):
            caps.add("json_mode")
        return caps

    def usage_block(self, usage: Any) -> Usage:
        return messages_usage(usage)

    def meta(self, response: Any) -> tuple[str | None, str | None, str | None]:
        rid, model, _ = super().meta(response)
        tier = field(field(response, "usage"), "service_tier")
        return rid, model, tier if isinstance(tier, str) else None

    def output_text(self, response: Any) -> str:
        parts: list[str] = []
        for block in field(response, "content") or ():
            for name in ("text", "thinking"):
                value = field(block, name)
                if isinstance(value, str):
                    parts.append(value)
        return "".join(parts)

    def new_state(self) -> StreamState:
        return MessagesState()


MESSAGES: Kind = _Messages()

ADAPTER = SdkAdapter(
    name="anthropic",
    modules=frozenset({"anthropic"}),
    endpoints=(
        Endpoint(("messages",), "create", MESSAGES),
        Endpoint(("messages",), "parse", MESSAGES),
        Endpoint(("messages",), "stream", MESSAGES, helper=True),
        Endpoint(("beta", "messages"), "create", MESSAGES),
        Endpoint(("beta", "messages"), "parse", MESSAGES),
        Endpoint(("beta", "messages"), "stream", MESSAGES, helper=True),
    ),
    wires={"messages": MESSAGES},
    raw_header=("X-Stainless-Raw-Response", "raw"),
    providers_by_class={
        "AnthropicBedrock": "aws-bedrock",
        "AsyncAnthropicBedrock": "aws-bedrock",
        "AnthropicVertex": "google-vertex",
        "AsyncAnthropicVertex": "google-vertex",
    },
)
"""`anthropic` by default; the Bedrock and Vertex clients are `aws-bedrock` and `google-vertex`."""
