"""The three wire formats the wrappers speak: what bounds a request's output, where a response keeps
its usage, ids and text, and which stream state reads its events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costwarden.core.usage import Usage
from costwarden.integrations.stream_state import (
    AnthropicState,
    OpenAIChatState,
    OpenAIResponsesState,
    StreamState,
)
from costwarden.integrations.usage import anthropic_usage, field, openai_chat_usage, openai_responses_usage

__all__ = ["Kind", "OPENAI_CHAT", "OPENAI_RESPONSES", "ANTHROPIC_MESSAGES", "given", "is_omitted"]


def is_omitted(value: object) -> bool:
    """The SDKs' `omit` / `NOT_GIVEN` sentinels stand for an argument that was not passed."""
    return type(value).__name__ in ("Omit", "NotGiven")


def given(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """`kwargs` without the arguments left at an SDK sentinel."""
    return {k: v for k, v in kwargs.items() if not is_omitted(v)}


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class Kind:
    """One wire format. Subclasses fill in the field names."""

    name = "kind"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        raise NotImplementedError

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps: set[str] = set()
        if kwargs.get("stream"):
            caps.add("streaming")
        if kwargs.get("tools") or kwargs.get("functions"):
            caps.add("tool_calls")
        if kwargs.get("reasoning_effort") or kwargs.get("reasoning") or kwargs.get("thinking"):
            caps.add("reasoning")
        return caps

    def usage(self, response: Any) -> Usage | None:
        raise NotImplementedError

    def meta(self, response: Any) -> tuple[str | None, str | None, str | None]:
        """(response id, model, service tier) of a response."""
        rid, model, tier = field(response, "id"), field(response, "model"), field(response, "service_tier")
        return (
            rid if isinstance(rid, str) else None,
            model if isinstance(model, str) else None,
            tier if isinstance(tier, str) else None,
        )

    def output_text(self, response: Any) -> str:
        return ""

    def new_state(self) -> StreamState:
        raise NotImplementedError

    def prepare_stream(self, kwargs: dict[str, Any]) -> None:
        """Adjust the arguments of a streaming call before it is sent (nothing by default)."""


class _OpenAIChat(Kind):
    name = "openai.chat"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        bound = _positive_int(kwargs.get("max_completion_tokens"))
        if bound is None:
            bound = _positive_int(kwargs.get("max_tokens"))
        choices = _positive_int(kwargs.get("n")) or 1
        return bound * choices if bound is not None else None

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps = super().capabilities(kwargs)
        if kwargs.get("response_format"):
            caps.add("json_mode")
        return caps

    def usage(self, response: Any) -> Usage | None:
        usage = field(response, "usage")
        return openai_chat_usage(usage) if usage is not None else None

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
        return OpenAIChatState()

    def prepare_stream(self, kwargs: dict[str, Any]) -> None:
        options = kwargs.get("stream_options")
        if options is None or is_omitted(options):
            kwargs["stream_options"] = {"include_usage": True}
        elif isinstance(options, Mapping) and "include_usage" not in options:
            kwargs["stream_options"] = {**options, "include_usage": True}


class _OpenAIResponses(Kind):
    name = "openai.responses"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        return _positive_int(kwargs.get("max_output_tokens"))

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps = super().capabilities(kwargs)
        text = kwargs.get("text")
        if kwargs.get("text_format") or (isinstance(text, Mapping) and text.get("format")):
            caps.add("json_mode")
        return caps

    def usage(self, response: Any) -> Usage | None:
        usage = field(response, "usage")
        return openai_responses_usage(usage) if usage is not None else None

    def output_text(self, response: Any) -> str:
        text = field(response, "output_text")
        return text if isinstance(text, str) else ""

    def new_state(self) -> StreamState:
        return OpenAIResponsesState()


class _AnthropicMessages(Kind):
    name = "anthropic.messages"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        return _positive_int(kwargs.get("max_tokens"))

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps = super().capabilities(kwargs)
        config = kwargs.get("output_config")
        if kwargs.get("output_format") or (isinstance(config, Mapping) and config.get("format")):
            caps.add("json_mode")
        return caps

    def usage(self, response: Any) -> Usage | None:
        usage = field(response, "usage")
        return anthropic_usage(usage) if usage is not None else None

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
        return AnthropicState()


OPENAI_CHAT: Kind = _OpenAIChat()
OPENAI_RESPONSES: Kind = _OpenAIResponses()
ANTHROPIC_MESSAGES: Kind = _AnthropicMessages()
