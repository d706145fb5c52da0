"""The JSON bodies and SSE events of the fake provider, in the providers' wire formats.

OpenAI chat completions (`/v1/chat/completions`), the OpenAI Responses API (`/v1/responses`) and Anthropic
messages (`/v1/messages`); plain JSON or `text/event-stream`. Usage comes from a `Reply`: its token
slices never overlap (`input_tokens` is the uncached input), and each format renders them its own way:
OpenAI counts cached and cache-written tokens inside `prompt_tokens` / `input_tokens`, Anthropic does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from costwarden.clock import SYSTEM_CLOCK

__all__ = ["Reply", "Rendered", "render", "error_body", "sse"]


@dataclass
class Reply:
    """What the fake provider answers to one request. Unset token counts are derived from the request.

    `error`: answer with this HTTP status and the provider's error JSON instead.
    `interrupt_after`: in a stream, drop the connection after this many events.
    `omit_usage`: leave usage out (a provider or proxy that does not report it).
    `chunk_delay`: in a stream, seconds to wait before each event after the first (a slow generation).
    """

    text: str = "Hello from the fake provider."
    input_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int | None = None
    reasoning_tokens: int = 0
    model: str | None = None
    error: int | None = None
    error_type: str | None = None
    error_message: str = "injected error"
    interrupt_after: int | None = None
    omit_usage: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunks: int = 3
    service_tier: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Rendered:
    """A rendered answer: status, headers, and a JSON body or a list of SSE events."""

    status: int
    body: dict[str, Any] | None = None
    events: list[tuple[str | None, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Out:
    model: str
    inp: int
    out: int
    rid: str
    stream: bool


def sse(event: str | None, data: str) -> bytes:
    """One server-sent event."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _pieces(text: str, count: int) -> list[str]:
    count = max(1, min(count, len(text) or 1))
    size = -(-len(text) // count) if text else 1
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _openai_chat_usage(r: Reply, inp: int, out: int) -> dict[str, Any]:
    prompt = inp + r.cache_read_tokens + r.cache_write_tokens + r.cache_write_1h_tokens
    details: dict[str, Any] = {"cached_tokens": r.cache_read_tokens, "audio_tokens": 0}
    if r.cache_write_tokens or r.cache_write_1h_tokens:
        details["cache_write_tokens"] = r.cache_write_tokens + r.cache_write_1h_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": out,
        "total_tokens": prompt + out,
        "prompt_tokens_details": details,
        "completion_tokens_details": {
            "reasoning_tokens": r.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _openai_responses_usage(r: Reply, inp: int, out: int) -> dict[str, Any]:
    written = r.cache_write_tokens + r.cache_write_1h_tokens
    total_in = inp + r.cache_read_tokens + written
    details: dict[str, Any] = {"cached_tokens": r.cache_read_tokens, "cache_write_tokens": written}
    if written:
        details["cache_write_tokens_details"] = {
            "ttl_30m_tokens": r.cache_write_tokens,
            "ttl_12h_tokens": r.cache_write_1h_tokens,
        }
    return {
        "input_tokens": total_in,
        "input_tokens_details": details,
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": r.reasoning_tokens},
        "total_tokens": total_in + out,
    }


def _anthropic_usage(r: Reply, inp: int, out: int) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "cache_creation_input_tokens": r.cache_write_tokens + r.cache_write_1h_tokens,
        "cache_read_input_tokens": r.cache_read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": r.cache_write_tokens,
            "ephemeral_1h_input_tokens": r.cache_write_1h_tokens,
        },
        "output_tokens": out,
        "service_tier": r.service_tier or "standard",
    }


def error_body(api: str, status: int, r: Reply, request_id: str) -> dict[str, Any]:
    """The provider's error JSON for `status`."""
    if api == "anthropic":
        kind = r.error_type or {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        return {
            "type": "error",
            "error": {"type": kind, "message": r.error_message},
            "request_id": request_id,
        }
    kind = r.error_type or {429: "rate_limit_exceeded", 400: "invalid_request_error"}.get(
        status, "server_error"
    )
    return {"error": {"message": r.error_message, "type": kind, "param": None, "code": kind}}


def render(
    api: str, request: dict[str, Any], r: Reply, *, inp: int, out: int, ids: Iterator[str]
) -> Rendered:
    """The answer to `request` on `api` (`chat`, `responses` or `anthropic`)."""
    model = r.model or str(request.get("model") or "fake-model")
    stream = bool(request.get("stream"))
    if api == "chat":
        return _chat(request, r, _Out(model, inp, out, next(ids), stream))
    if api == "responses":
        return _responses(r, _Out(model, inp, out, next(ids), stream))
    return _anthropic(r, _Out(model, inp, out, next(ids), stream))


def _chat(request: dict[str, Any], r: Reply, o: _Out) -> Rendered:
    model, inp, out, rid, stream = o.model, o.inp, o.out, o.rid, o.stream
    created = int(SYSTEM_CLOCK())
    cid = f"chatcmpl-{rid}"
    tier = r.service_tier or "default"
    usage = _openai_chat_usage(r, inp, out)
    if not stream:
        body: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": r.text, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "service_tier": tier,
            "system_fingerprint": None,
        }
        if not r.omit_usage:
            body["usage"] = usage
        return Rendered(200, body=body)
    include = bool((request.get("stream_options") or {}).get("include_usage")) and not r.omit_usage

    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        data: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": tier,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include:
            data["usage"] = None
        return _dump(data)

    events: list[tuple[str | None, str]] = [
        (None, chunk({"role": "assistant", "content": "", "refusal": None}, None))
    ]
    events += [(None, chunk({"content": piece}, None)) for piece in _pieces(r.text, r.chunks)]
    events.append((None, chunk({}, "stop")))
    if include:
        final = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": tier,
            "system_fingerprint": None,
            "choices": [],
            "usage": usage,
        }
        events.append((None, _dump(final)))
    events.append((None, "[DONE]"))
    return Rendered(200, events=events)


def _responses(r: Reply, o: _Out) -> Rendered:
    model, inp, out, rid, stream = o.model, o.inp, o.out, o.rid, o.stream
    resp_id, msg_id = f"resp_{rid}", f"msg_{rid}"
    created = SYSTEM_CLOCK()

    def response(status: str, with_output: bool, with_usage: bool) -> dict[str, Any]:
        message = {
            "id": msg_id,
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": r.text, "annotations": [], "logprobs": []}],
        }
        return {
            "id": resp_id,
            "object": "response",
            "created_at": created,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "model": model,
            "output": [message] if with_output else [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": r.service_tier or "default",
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": _openai_responses_usage(r, inp, out) if with_usage and not r.omit_usage else None,
            "user": None,
            "metadata": {},
        }

    if not stream:
        return Rendered(200, body=response("completed", True, True))
    seq = iter(range(10**6))
    events: list[tuple[str | None, str]] = []

    def add(kind: str, payload: dict[str, Any]) -> None:
        events.append((kind, _dump({"type": kind, "sequence_number": next(seq), **payload})))

    add("response.created", {"response": response("in_progress", False, False)})
    add("response.in_progress", {"response": response("in_progress", False, False)})
    item = {"id": msg_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    add("response.output_item.added", {"output_index": 0, "item": item})
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    add(
        "response.content_part.added",
        {"item_id": msg_id, "output_index": 0, "content_index": 0, "part": part},
    )
    for piece in _pieces(r.text, r.chunks):
        add(
            "response.output_text.delta",
            {"item_id": msg_id, "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []},
        )
    add(
        "response.output_text.done",
        {"item_id": msg_id, "output_index": 0, "content_index": 0, "text": r.text, "logprobs": []},
    )
    done_part = {**part, "text": r.text}
    add(
        "response.content_part.done",
        {"item_id": msg_id, "output_index": 0, "content_index": 0, "part": done_part},
    )
    final = response("completed", True, True)
    add("response.output_item.done", {"output_index": 0, "item": final["output"][0]})
    add("response.completed", {"response": final})
    return Rendered(200, events=events)


def _anthropic(r: Reply, o: _Out) -> Rendered:
    model, inp, out, rid, stream = o.model, o.inp, o.out, o.rid, o.stream
    msg_id = f"msg_{rid}"
    usage = _anthropic_usage(r, inp, out)
    if not stream:
        body: dict[str, Any] = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": r.text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage if not r.omit_usage else {"input_tokens": 0, "output_tokens": 0},
        }
        return Rendered(200, body=body)
    start_usage = {**usage, "output_tokens": min(1, out)}
    message: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events: list[tuple[str | None, str]] = [
        ("message_start", _dump({"type": "message_start", "message": message})),
        (
            "content_block_start",
            _dump({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", _dump({"type": "ping"})),
    ]
    for piece in _pieces(r.text, r.chunks):
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        events.append(("content_block_delta", _dump(delta)))
    events.append(("content_block_stop", _dump({"type": "content_block_stop", "index": 0})))
    if not r.omit_usage:
        final_usage: dict[str, Any] = {
            "output_tokens": out,
            "input_tokens": inp,
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
        }
        delta_event = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": final_usage,
        }
        events.append(("message_delta", _dump(delta_event)))
    events.append(("message_stop", _dump({"type": "message_stop"})))
    return Rendered(200, events=events)
