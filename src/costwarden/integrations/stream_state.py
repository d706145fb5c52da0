"""What a stream told us so far, per wire format: ids, model, the final usage (once reported) and the
text received (to estimate the output of a stream that never reports its usage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costwarden.core.usage import Usage
from costwarden.integrations.usage import (
    anthropic_usage,
    openai_chat_usage,
    openai_responses_usage,
)
from costwarden.integrations.usage import (
    field as get,
)

__all__ = ["StreamState", "OpenAIChatState", "OpenAIResponsesState", "AnthropicState"]


@dataclass
class StreamState:
    """Base: `usage` is set once the provider reported the final usage (`complete`)."""

    usage: Usage | None = None
    partial: Usage | None = None
    complete: bool = False
    response_id: str | None = None
    model: str | None = None
    service_tier: str | None = None
    text: list[str] = field(default_factory=list)
    in_next: bool = False

    def observe(self, item: Any) -> None:
        raise NotImplementedError

    def _text(self, value: Any) -> None:
        if isinstance(value, str) and value:
            self.text.append(value)

    def _ids(self, obj: Any) -> None:
        response_id = get(obj, "id")
        if isinstance(response_id, str) and response_id:
            self.response_id = response_id
        model = get(obj, "model")
        if isinstance(model, str) and model:
            self.model = model
        tier = get(obj, "service_tier")
        if isinstance(tier, str) and tier:
            self.service_tier = tier


class OpenAIChatState(StreamState):
    """Chat Completions chunks; the usage arrives in a last chunk with empty `choices`."""

    def observe(self, item: Any) -> None:
        self._ids(item)
        usage = get(item, "usage")
        if usage is not None:
            self.usage = openai_chat_usage(usage)
            self.complete = True
        for choice in get(item, "choices") or ():
            delta = get(choice, "delta")
            if delta is None:
                continue
            self._text(get(delta, "content"))
            self._text(get(delta, "refusal"))
            self._text(get(delta, "reasoning_content"))
            for call in get(delta, "tool_calls") or ():
                self._text(get(get(call, "function"), "arguments"))
            self._text(get(get(delta, "function_call"), "arguments"))


_RESPONSES_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
        "response.custom_tool_call_input.delta",
    }
)
_RESPONSES_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


class OpenAIResponsesState(StreamState):
    """Responses API events; the usage arrives with `response.completed` (or incomplete/failed)."""

    def observe(self, item: Any) -> None:
        kind = get(item, "type")
        if kind in _RESPONSES_DELTAS:
            self._text(get(item, "delta"))
            return
        response = get(item, "response")
        if response is None:
            return
        self._ids(response)
        if kind in _RESPONSES_FINAL:
            usage = get(response, "usage")
            if usage is not None:
                self.usage = openai_responses_usage(usage)
            self.complete = True


class AnthropicState(StreamState):
    """Messages events: input and cache usage in `message_start`, the final output in `message_delta`."""

    def __init__(self) -> None:
        super().__init__()
        self._usage: dict[str, Any] = {}

    def observe(self, item: Any) -> None:
        kind = get(item, "type")
        if kind == "content_block_delta":
            delta = get(item, "delta")
            self._text(get(delta, "text"))
            self._text(get(delta, "partial_json"))
            self._text(get(delta, "thinking"))
        elif kind == "message_start":
            message = get(item, "message")
            self._ids(message)
            self._merge(get(message, "usage"))
            tier = get(get(message, "usage"), "service_tier")
            if isinstance(tier, str):
                self.service_tier = tier
            self.partial = anthropic_usage(self._usage)
        elif kind == "message_delta":
            self._merge(get(item, "usage"))
            self.usage = anthropic_usage(self._usage)
            self.partial = self.usage
            self.complete = True

    def _merge(self, usage: Any) -> None:
        if usage is None:
            return
        data = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)
        for key, value in data.items():
            if value is not None:
                self._usage[key] = value
