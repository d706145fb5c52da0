"""OpenAI: `warden.wrap(openai.OpenAI())` / `warden.wrap(openai.AsyncOpenAI())` (and the Azure clients).

Covered: `chat.completions.create` (plain and `stream=True`), `chat.completions.parse`,
`chat.completions.stream(...)` (the helper sends through `create`), `responses.create`,
`responses.parse`, `responses.stream(...)`; their `with_raw_response` and `with_streaming_response`
variants. Chat streams get `stream_options={"include_usage": True}` unless the caller set `include_usage`.

Wire formats: `chat` (Chat Completions) and `responses` (Responses API). OpenAI counts cached (and
cache-written) tokens *inside* `prompt_tokens` / `input_tokens`: they are subtracted to get the uncached
input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costwarden.core.usage import Usage
from costwarden.integrations.adapter import Endpoint, SdkAdapter
from costwarden.integrations.kinds import Kind, is_omitted, positive_int
from costwarden.integrations.stream_state import StreamState
from costwarden.integrations.usage import count, field, slices

__all__ = [
    "ADAPTER",
    "CHAT",
    "RESPONSES",
    "ChatState",
    "ResponsesState",
    "chat_usage",
    "responses_usage",
]


def chat_usage(usage: Any) -> Usage:
    """Chat Completions `usage`: prompt/completion tokens with their details."""
    prompt = count(usage, "prompt_tokens")
    cached = count(usage, "prompt_tokens_details", "cached_tokens")
    written = count(usage, "prompt_tokens_details", "cache_write_tokens")
    output = count(usage, "completion_tokens")
    reasoning = count(usage, "completion_tokens_details", "reasoning_tokens")
    return slices(
        input_tokens=prompt - cached - written,
        cache_read=cached,
        cache_write=written,
        cache_write_1h=0,
        output=output,
        reasoning=reasoning,
    )


def responses_usage(usage: Any) -> Usage:
    """Responses API `usage`: input/output tokens with `input_tokens_details` / `output_tokens_details`.

    Long-retention cache writes (`ttl_12h_tokens`) go to the `cache_write_1h_tokens` slice.
    """
    total_input = count(usage, "input_tokens")
    details = field(usage, "input_tokens_details")
    cached = count(details, "cached_tokens")
    written = count(details, "cache_write_tokens")
    long_written = min(count(details, "cache_write_tokens_details", "ttl_12h_tokens"), written)
    output = count(usage, "output_tokens")
    reasoning = count(usage, "output_tokens_details", "reasoning_tokens")
    return slices(
        input_tokens=total_input - cached - written,
        cache_read=cached,
        cache_write=written - long_written,
        cache_write_1h=long_written,
        output=output,
        reasoning=reasoning,
    )


class ChatState(StreamState):
    """Chat Completions chunks; the usage arrives in a last chunk with empty `choices`."""

    def observe(self, item: Any) -> None:
        self.take_ids(item)
        usage = field(item, "usage")
        if usage is not None:
            self.usage = chat_usage(usage)
            self.complete = True
        for choice in field(item, "choices") or ():
            delta = field(choice, "delta")
            if delta is None:
                continue
            self.add_text(field(delta, "content"))
            self.add_text(field(delta, "refusal"))
            self.add_text(field(delta, "reasoning_content"))
            for call in field(delta, "tool_calls") or ():
                self.add_text(field(field(call, "function"), "arguments"))
            self.add_text(field(field(delta, "function_call"), "arguments"))


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


class ResponsesState(StreamState):
    """Responses API events; the usage arrives with `response.completed` (or incomplete/failed)."""

    def observe(self, item: Any) -> None:
        kind = field(item, "type")
        if kind in _RESPONSES_DELTAS:
            self.add_text(field(item, "delta"))
            return
        response = field(item, "response")
        if response is None:
            return
        self.take_ids(response)
        if kind in _RESPONSES_FINAL:
            usage = field(response, "usage")
            if usage is not None:
                self.usage = responses_usage(usage)
            self.complete = True


class _Chat(Kind):
    name = "openai.chat"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        bound = positive_int(kwargs.get("max_completion_tokens"))
        if bound is None:
            bound = positive_int(kwargs.get("max_tokens"))
        choices = positive_int(kwargs.get("n")) or 1
        return bound * choices if bound is not None else None

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps = super().capabilities(kwargs)
        if kwargs.get("response_format"):
            caps.add("json_mode")
        return caps

    def usage_block(self, usage: Any) -> Usage:
        return chat_usage(usage)

    def output_text(self, response: Any) -> str:
        parts: list[str] = []
        for choice in field(response, "choices") or ():
            message = field(choice, "message")
            for name in ("content", "refusal"):
                value = field(message, name)
                if isinstance(value, str):
                    parts.append(value)
            for call in field(message, "tool_calls") or ():
                args = field(field(call, "function"), "arguments")
                if isinstance(args, str):
                    parts.append(args)
        return "".join(parts)

    def new_state(self) -> StreamState:
        return ChatState()

    def prepare_stream(self, kwargs: dict[str, Any]) -> None:
        options = kwargs.get("stream_options")
        if options is None or is_omitted(options):
            kwargs["stream_options"] = {"include_usage": True}
        elif isinstance(options, Mapping) and "include_usage" not in options:
            kwargs["stream_options"] = {**options, "include_usage": True}


class _Responses(Kind):
    name = "openai.responses"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        return positive_int(kwargs.get("max_output_tokens"))

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps = super().capabilities(kwargs)
        text = kwargs.get("text")
        if kwargs.get("text_format") or (isinstance(text, Mapping) and text.get("format")):
            caps.add("json_mode")
        return caps

    def usage_block(self, usage: Any) -> Usage:
        return responses_usage(usage)

    def output_text(self, response: Any) -> str:
        text = field(response, "output_text")
        return text if isinstance(text, str) else ""

    def new_state(self) -> StreamState:
        return ResponsesState()


CHAT: Kind = _Chat()
RESPONSES: Kind = _Responses()

ADAPTER = SdkAdapter(
    name="openai",
    modules=frozenset({"openai"}),
    endpoints=(
        Endpoint(("chat", "completions"), "create", CHAT),
        Endpoint(("chat", "completions"), "parse", CHAT),
        Endpoint(("responses",), "create", RESPONSES),
        Endpoint(("responses",), "parse", RESPONSES),
    ),
    wires={"chat": CHAT, "responses": RESPONSES},
    raw_header=("X-Stainless-Raw-Response", "true"),
    providers_by_class={"AzureOpenAI": "azure", "AsyncAzureOpenAI": "azure"},
)
"""`openai` by default, `azure` for the Azure clients (pass `provider=` for other compatible endpoints)."""
