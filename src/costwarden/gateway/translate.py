"""Translating between the Anthropic Messages and OpenAI Chat Completions wire formats, for a call whose
client speaks one and whose upstream (an alias or a budget fallback) speaks the other (the Responses API:
`translate_responses`; which translation a call takes: `translations.translation_for`).

Requests: system prompt, text and image content, tool definitions, tool calls and their results,
`tool_choice`, `max_tokens`, `temperature`, `top_p`, stop sequences, `stream`. Answers: text and tool
calls, the stop reason and the usage, plain or streamed (each upstream event becomes the client's events
as it arrives). Upstream errors keep their status and message, in the client's error shape. Thinking
blocks, citations and other provider-only features are dropped on the way.
"""

from __future__ import annotations

import json
from typing import Any

from costwarden.integrations.kinds import Kind
from costwarden.integrations.providers.anthropic import MESSAGES
from costwarden.integrations.providers.openai import CHAT

__all__ = [
    "Translation",
    "StreamTranslator",
    "Untranslatable",
    "AnthropicToChat",
    "ChatToAnthropic",
    "json_text",
    "sse_event",
    "text_of",
]


def json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sse_event(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json_text(data)}\n\n".encode()


def text_of(content: Any) -> str:
    """The text of a content value: a string, or the text parts of a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


class Untranslatable(ValueError):
    """A request the upstream's wire format cannot carry; the message names the field (`tools[1]: ...`)."""


class Translation:
    """One direction: the upstream's path and wire format, and how requests, answers and streams change."""

    upstream_path = ""
    upstream_kind: Kind = CHAT

    def request(self, payload: dict[str, Any], model: str) -> dict[str, Any]:
        raise NotImplementedError

    def response(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, status: int, body: Any) -> dict[str, Any]:
        raise NotImplementedError

    def stream(self, payload: dict[str, Any]) -> StreamTranslator:
        """A translator for one stream of the request `payload` (as the client sent it)."""
        raise NotImplementedError


class StreamTranslator:
    """Turns the upstream's stream events (parsed JSON) into the client's SSE bytes."""

    def feed(self, item: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        raise NotImplementedError


# -- Anthropic client -> OpenAI chat upstream -------------------------------------------------------------

_FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
}
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def _image_url(block: dict[str, Any]) -> dict[str, Any] | None:
    source = block.get("source")
    if not isinstance(source, dict):
        return None
    if source.get("type") == "base64":
        return {
            "type": "image_url",
            "image_url": {"url": f"data:{source.get('media_type')};base64,{source.get('data')}"},
        }
    if source.get("type") == "url":
        return {"type": "image_url", "image_url": {"url": source.get("url")}}
    return None


def _chat_messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = text_of(payload.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    for message in payload.get("messages") or ():
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if isinstance(content, str):
            out.append({"role": role, "content": content})
            continue
        parts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for block in content or ():
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                parts.append({"type": "text", "text": block.get("text", "")})
            elif kind == "image":
                image = _image_url(block)
                if image is not None:
                    parts.append(image)
            elif kind == "tool_use":
                arguments = json_text(block.get("input") or {})
                calls.append(
                    {
                        "id": block.get("id"),
                        "type": "function",
                        "function": {"name": block.get("name"), "arguments": arguments},
                    }
                )
            elif kind == "tool_result":
                out.append(
                    {
                        "role": "tool",
                        "tool_call_id": block.get("tool_use_id"),
                        "content": text_of(block.get("content")),
                    }
                )
        if role == "assistant":
            text = "".join(p.get("text", "") for p in parts if p.get("type") == "text")
            entry: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                entry["tool_calls"] = calls
            if text or calls:
                out.append(entry)
        elif parts:
            only_text = all(p.get("type") == "text" for p in parts)
            out.append({"role": role, "content": "".join(p["text"] for p in parts) if only_text else parts})
    return out


def _chat_tool_choice(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return None
    kind = choice.get("type")
    if kind == "auto":
        return "auto"
    if kind == "any":
        return "required"
    if kind == "none":
        return "none"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return None


class AnthropicToChat(Translation):
    """A Messages client, an OpenAI Chat Completions upstream."""

    upstream_path = "/chat/completions"
    upstream_kind = CHAT

    def request(self, payload: dict[str, Any], model: str) -> dict[str, Any]:
        out: dict[str, Any] = {"model": model, "messages": _chat_messages(payload)}
        if isinstance(payload.get("max_tokens"), int):
            out["max_tokens"] = payload["max_tokens"]
        for name in ("temperature", "top_p"):
            if payload.get(name) is not None:
                out[name] = payload[name]
        if payload.get("stop_sequences"):
            out["stop"] = payload["stop_sequences"]
        tools = [
            {
                "type": "function",
                "function": {
                    "name": tool.get("name"),
                    "description": tool.get("description", ""),
                    "parameters": tool.get("input_schema") or {"type": "object"},
                },
            }
            for tool in payload.get("tools") or ()
            if isinstance(tool, dict) and tool.get("name")
        ]
        if tools:
            out["tools"] = tools
        choice = _chat_tool_choice(payload.get("tool_choice"))
        if choice is not None:
            out["tool_choice"] = choice
        if payload.get("stream") is True:
            out["stream"] = True
            out["stream_options"] = {"include_usage": True}
        return out

    def response(self, body: dict[str, Any]) -> dict[str, Any]:
        choice = (body.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        content: list[dict[str, Any]] = []
        if message.get("content"):
            content.append({"type": "text", "text": message["content"]})
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except ValueError:
                arguments = {}
            content.append(
                {"type": "tool_use", "id": call.get("id"), "name": function.get("name"), "input": arguments}
            )
        return {
            "id": f"msg_{body.get('id', '')}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": content,
            "stop_reason": _FINISH_TO_STOP.get(choice.get("finish_reason") or "stop", "end_turn"),
            "stop_sequence": None,
            "usage": _anthropic_usage(body.get("usage")),
        }

    def error(self, status: int, body: Any) -> dict[str, Any]:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        kind = _ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": str(message or body)}}

    def stream(self, payload: dict[str, Any]) -> StreamTranslator:
        return _ChatToMessagesStream()


def _anthropic_usage(usage: Any) -> dict[str, int]:
    usage = usage if isinstance(usage, dict) else {}
    prompt = int(usage.get("prompt_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    return {
        "input_tokens": max(0, prompt - cached),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


class _ChatToMessagesStream(StreamTranslator):
    """Chat chunks -> message_start, content blocks (text, tool_use), message_delta, message_stop."""

    def __init__(self) -> None:
        self.started = False
        self.block: str | None = None  # "text" or a tool call's index
        self.index = -1
        self.stop_reason = "end_turn"
        self.usage: dict[str, int] = {"input_tokens": 0, "output_tokens": 0}
        self.finished = False

    def _start(self, item: dict[str, Any]) -> bytes:
        self.started = True
        message: dict[str, Any] = {
            "id": f"msg_{item.get('id', '')}",
            "type": "message",
            "role": "assistant",
            "model": item.get("model"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return sse_event("message_start", {"type": "message_start", "message": message})

    def _open(self, key: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self.index += 1
        self.block = key
        return out + sse_event(
            "content_block_start",
            {"type": "content_block_start", "index": self.index, "content_block": block},
        )

    def _close(self) -> bytes:
        if self.block is None:
            return b""
        self.block = None
        return sse_event("content_block_stop", {"type": "content_block_stop", "index": self.index})

    def feed(self, item: dict[str, Any]) -> bytes:
        out = b"" if self.started else self._start(item)
        usage = item.get("usage")
        if isinstance(usage, dict):
            self.usage = _anthropic_usage(usage)
        for choice in item.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                if self.block != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                delta_event = {
                    "type": "content_block_delta",
                    "index": self.index,
                    "delta": {"type": "text_delta", "text": text},
                }
                out += sse_event("content_block_delta", delta_event)
            for call in delta.get("tool_calls") or ():
                key = f"tool{call.get('index', 0)}"
                function = call.get("function") or {}
                if self.block != key:
                    block = {
                        "type": "tool_use",
                        "id": call.get("id"),
                        "name": function.get("name"),
                        "input": {},
                    }
                    out += self._open(key, block)
                if function.get("arguments"):
                    partial = {"type": "input_json_delta", "partial_json": function["arguments"]}
                    out += sse_event(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": self.index, "delta": partial},
                    )
            if choice.get("finish_reason"):
                self.stop_reason = _FINISH_TO_STOP.get(choice["finish_reason"], "end_turn")
        return out

    def finish(self) -> bytes:
        if self.finished or not self.started:
            return b""
        self.finished = True
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
            "usage": self.usage,
        }
        return (
            self._close()
            + sse_event("message_delta", delta)
            + sse_event("message_stop", {"type": "message_stop"})
        )


# -- OpenAI chat client -> Anthropic upstream -------------------------------------------------------------

_STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
_OPENAI_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error"}


def _anthropic_part(part: Any) -> dict[str, Any] | None:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if not isinstance(part, dict):
        return None
    if part.get("type") == "text":
        return {"type": "text", "text": part.get("text", "")}
    if part.get("type") == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        if url.startswith("data:") and ";base64," in url:
            media, _, data = url[5:].partition(";base64,")
            return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
        return {"type": "image", "source": {"type": "url", "url": url}}
    return None


def _messages_of(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:  # Anthropic wants user and assistant turns to alternate
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in payload.get("messages") or ():
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(text_of(content) if not isinstance(content, str) else content)
        elif role == "tool":
            text = content if isinstance(content, str) else text_of(content)
            add(
                "user", [{"type": "tool_result", "tool_use_id": message.get("tool_call_id"), "content": text}]
            )
        else:
            parts = [content] if isinstance(content, str) else list(content or ())
            blocks = [
                b for b in (_anthropic_part(p) for p in parts) if b is not None and b.get("text", True) != ""
            ]
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id"),
                        "name": function.get("name"),
                        "input": arguments,
                    }
                )
            add("assistant" if role == "assistant" else "user", blocks)
    return "\n\n".join(s for s in system if s), out


class ChatToAnthropic(Translation):
    """An OpenAI Chat Completions client, an Anthropic Messages upstream."""

    upstream_path = "/v1/messages"
    upstream_kind = MESSAGES

    def __init__(self, default_max_tokens: int = 4096) -> None:
        self.default_max_tokens = default_max_tokens

    def request(self, payload: dict[str, Any], model: str) -> dict[str, Any]:
        system, messages = _messages_of(payload)
        bound = payload.get("max_completion_tokens") or payload.get("max_tokens")
        out: dict[str, Any] = {
            "model": model,
            "max_tokens": bound if isinstance(bound, int) and bound > 0 else self.default_max_tokens,
            "messages": messages,
        }
        if system:
            out["system"] = system
        for name in ("temperature", "top_p"):
            if payload.get(name) is not None:
                out[name] = payload[name]
        stop = payload.get("stop")
        if stop:
            out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        tools = []
        for tool in payload.get("tools") or ():
            function = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(function, dict) and function.get("name"):
                tools.append(
                    {
                        "name": function["name"],
                        "description": function.get("description", ""),
                        "input_schema": function.get("parameters") or {"type": "object"},
                    }
                )
        if tools:
            out["tools"] = tools
        choice = payload.get("tool_choice")
        if choice == "auto":
            out["tool_choice"] = {"type": "auto"}
        elif choice == "required":
            out["tool_choice"] = {"type": "any"}
        elif choice == "none":
            out["tool_choice"] = {"type": "none"}
        elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            out["tool_choice"] = {"type": "tool", "name": choice["function"].get("name")}
        user = payload.get("user")
        if isinstance(user, str) and user:
            out["metadata"] = {"user_id": user}
        if payload.get("stream") is True:
            out["stream"] = True
        return out

    def response(self, body: dict[str, Any]) -> dict[str, Any]:
        text = "".join(b.get("text", "") for b in body.get("content") or () if b.get("type") == "text")
        calls = [
            {
                "id": b.get("id"),
                "type": "function",
                "function": {"name": b.get("name"), "arguments": json_text(b.get("input") or {})},
            }
            for b in body.get("content") or ()
            if b.get("type") == "tool_use"
        ]
        message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": f"chatcmpl-{body.get('id', '')}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _STOP_TO_FINISH.get(body.get("stop_reason") or "end_turn", "stop"),
                }
            ],
            "usage": _chat_usage(body.get("usage")),
        }

    def error(self, status: int, body: Any) -> dict[str, Any]:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        kind = _OPENAI_ERRORS.get(status, "rate_limit_exceeded" if status == 429 else "server_error")
        return {"error": {"message": str(message or body), "type": kind, "param": None, "code": kind}}

    def stream(self, payload: dict[str, Any]) -> StreamTranslator:
        options = payload.get("stream_options")
        return _MessagesToChatStream(isinstance(options, dict) and options.get("include_usage") is True)


def _chat_usage(usage: Any) -> dict[str, Any]:
    usage = usage if isinstance(usage, dict) else {}
    cached = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cached + written
    completion = int(usage.get("output_tokens") or 0)
    details: dict[str, int] = {"cached_tokens": cached}
    if written:
        details["cache_write_tokens"] = written
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    }


class _MessagesToChatStream(StreamTranslator):
    """message_start / content_block_* / message_delta -> chat.completion.chunk events and `[DONE]`."""

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.id = ""
        self.model: str | None = None
        self.usage: dict[str, Any] = {}
        self.tools: dict[int, int] = {}  # content block index -> tool call index
        self.finished = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {
            "id": f"chatcmpl-{self.id}",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return sse_event(None, data)

    def feed(self, item: dict[str, Any]) -> bytes:
        kind = item.get("type")
        if kind == "message_start":
            message = item.get("message") or {}
            self.id, self.model = str(message.get("id", "")), message.get("model")
            self.usage.update(message.get("usage") or {})
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = item.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = len(self.tools)
                self.tools[int(item.get("index", 0))] = index
                call = {
                    "index": index,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return self._chunk({"tool_calls": [call]})
            return b""
        if kind == "content_block_delta":
            delta = item.get("delta") or {}
            if delta.get("type") == "text_delta":
                return self._chunk({"content": delta.get("text", "")})
            if delta.get("type") == "input_json_delta":
                index = self.tools.get(int(item.get("index", 0)), 0)
                call = {"index": index, "function": {"arguments": delta.get("partial_json", "")}}
                return self._chunk({"tool_calls": [call]})
            return b""
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (item.get("usage") or {}).items() if v is not None})
            stop = (item.get("delta") or {}).get("stop_reason") or "end_turn"
            return self._chunk({}, _STOP_TO_FINISH.get(stop, "stop"))
        return b""

    def finish(self) -> bytes:
        if self.finished:
            return b""
        self.finished = True
        if not self.include_usage:
            return b"data: [DONE]\n\n"
        final = {
            "id": f"chatcmpl-{self.id}",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [],
            "usage": _chat_usage(self.usage),
        }
        return sse_event(None, final) + b"data: [DONE]\n\n"
