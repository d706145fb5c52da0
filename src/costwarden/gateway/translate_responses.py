"""Translating an OpenAI Responses API call for an Anthropic Messages upstream, and its answer back.

The request is first read as the Chat Completions request it amounts to (`instructions` and system or
developer items as the system prompt; messages with text and image parts; `function_call` items as the
assistant's tool calls, `function_call_output` items as tool results; function tools, `tool_choice`,
`max_output_tokens`, `temperature`, `top_p`, `stream`), which `ChatToAnthropic` turns into the Messages
request. Answers become a `response` object: each text block a `message` item, each `tool_use` block a
`function_call` item, `max_tokens` an incomplete response; streams become the Responses events
(`response.created`, `response.output_item.added`, `response.output_text.delta`,
`response.function_call_arguments.delta`, ..., `response.completed`) as the upstream's events arrive.

What a Messages upstream cannot do is refused with 400 naming the field, never dropped silently:
`previous_response_id` and item references (Anthropic keeps no conversation), built-in tools
(`web_search`, `file_search`, ...), uploaded files, and structured output (`text.format` other than text).
Reasoning items and settings are dropped, as thinking blocks are in the other direction.
"""

from __future__ import annotations

from typing import Any

from costwarden.gateway.translate import (
    ChatToAnthropic,
    StreamTranslator,
    Untranslatable,
    json_text,
    sse_event,
)

__all__ = ["ResponsesToAnthropic", "chat_request_of"]


def _chat_part(part: Any, where: str) -> dict[str, Any] | None:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if not isinstance(part, dict):
        return None
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise Untranslatable(
                f"{where}: an image given by file_id cannot be sent to an Anthropic upstream"
            )
        return {"type": "image_url", "image_url": {"url": url}}
    if kind in ("input_file", "input_audio"):
        raise Untranslatable(f"{where}: {kind} cannot be sent to an Anthropic upstream")
    return None  # refusals and other output-only parts carry nothing to send


def _content(content: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = [_chat_part(part, f"{where}[{index}]") for index, part in enumerate(content or ())]
    return [part for part in parts if part is not None]


def _chat_messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    instructions = payload.get("instructions")
    if isinstance(instructions, str) and instructions:
        out.append({"role": "system", "content": instructions})
    given = payload.get("input")
    if isinstance(given, str):
        out.append({"role": "user", "content": given})
        return out
    for index, item in enumerate(given or ()):
        where = f"input[{index}]"
        if isinstance(item, str):
            out.append({"role": "user", "content": item})
            continue
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            role = "system" if role == "developer" else role
            out.append({"role": role, "content": _content(item.get("content"), f"{where}.content")})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"},
            }
            out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = (
                output
                if isinstance(output, str)
                else "".join(str(part.get("text", "")) for part in output or () if isinstance(part, dict))
            )
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
        elif kind == "item_reference":
            raise Untranslatable(
                f"{where}: an Anthropic upstream keeps no stored items; send the item itself"
            )
        elif kind != "reasoning":
            raise Untranslatable(f"{where}: a {kind!r} item cannot be sent to an Anthropic upstream")
    return out


def _chat_tools(payload: dict[str, Any]) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for index, tool in enumerate(payload.get("tools") or ()):
        if not isinstance(tool, dict):
            continue
        if tool.get("type") != "function":
            raise Untranslatable(
                f"tools[{index}]: the built-in tool {tool.get('type')!r} has no Anthropic equivalent"
            )
        function = {
            "name": tool.get("name"),
            "description": tool.get("description") or "",
            "parameters": tool.get("parameters") or {"type": "object"},
        }
        tools.append({"type": "function", "function": function})
    return tools


def chat_request_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The Chat Completions request a Responses request amounts to (an `Untranslatable` names a field
    an Anthropic upstream cannot carry)."""
    if payload.get("previous_response_id"):
        raise Untranslatable(
            "previous_response_id: an Anthropic upstream keeps no conversation; send the whole input"
        )
    text = payload.get("text")
    form = text.get("format") if isinstance(text, dict) else None
    if isinstance(form, dict) and form.get("type", "text") != "text":
        raise Untranslatable(
            f"text.format: {form.get('type')!r} output cannot be asked of an Anthropic upstream"
        )
    chat: dict[str, Any] = {"messages": _chat_messages(payload)}
    bound = payload.get("max_output_tokens")
    if isinstance(bound, int) and bound > 0:
        chat["max_completion_tokens"] = bound
    for name in ("temperature", "top_p", "user", "stream"):
        if payload.get(name) is not None:
            chat[name] = payload[name]
    tools = _chat_tools(payload)
    if tools:
        chat["tools"] = tools
    choice = payload.get("tool_choice")
    if choice in ("auto", "required", "none"):
        chat["tool_choice"] = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    return chat


def responses_usage(usage: Any) -> dict[str, Any]:
    """An Anthropic usage block as the Responses API reports usage (input counts cached tokens too)."""
    usage = usage if isinstance(usage, dict) else {}
    cached = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    given = int(usage.get("input_tokens") or 0) + cached + written
    output = int(usage.get("output_tokens") or 0)
    return {
        "input_tokens": given,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": given + output,
    }


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def _call_item(block: dict[str, Any], arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": f"fc_{block.get('id', '')}",
        "type": "function_call",
        "status": status,
        "call_id": block.get("id"),
        "name": block.get("name"),
        "arguments": arguments,
    }


def _response(
    asked: dict[str, Any], rid: str, model: Any, output: list[dict[str, Any]], stop: str | None, usage: Any
) -> dict[str, Any]:
    """The `response` object (`stop` None: still in progress)."""
    incomplete = stop == "max_tokens"
    status = "in_progress" if stop is None else ("incomplete" if incomplete else "completed")
    tools = asked.get("tools")
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": 0,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": asked.get("instructions"),
        "max_output_tokens": asked.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": asked.get("parallel_tool_calls", True) is not False,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": asked.get("temperature"),
        "text": {"format": {"type": "text"}},
        "tool_choice": asked.get("tool_choice", "auto"),
        "tools": tools if isinstance(tools, list) else [],
        "top_p": asked.get("top_p"),
        "truncation": "disabled",
        "usage": responses_usage(usage) if stop is not None else None,
        "user": asked.get("user"),
        "metadata": {},
    }


class ResponsesToAnthropic(ChatToAnthropic):
    """An OpenAI Responses client, an Anthropic Messages upstream (errors as for Chat Completions)."""

    def __init__(self, default_max_tokens: int = 4096) -> None:
        super().__init__(default_max_tokens)
        self.asked: dict[str, Any] = {}

    def request(self, payload: dict[str, Any], model: str) -> dict[str, Any]:
        self.asked = payload
        return super().request(chat_request_of(payload), model)

    def response(self, body: dict[str, Any]) -> dict[str, Any]:
        rid = str(body.get("id", ""))
        output: list[dict[str, Any]] = []
        for index, block in enumerate(body.get("content") or ()):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                output.append(_message_item(f"msg_{rid}_{index}", str(block.get("text", "")), "completed"))
            elif block.get("type") == "tool_use":
                output.append(_call_item(block, json_text(block.get("input") or {}), "completed"))
        stop = str(body.get("stop_reason") or "end_turn")
        return _response(self.asked, rid, body.get("model"), output, stop, body.get("usage"))

    def stream(self, payload: dict[str, Any]) -> StreamTranslator:
        return _MessagesToResponsesStream(payload)


class _Block:
    """One content block of the upstream's message as it streams: its output item and what it holds."""

    __slots__ = ("item", "kind", "output_index", "parts")

    def __init__(self, kind: str, item: dict[str, Any], output_index: int) -> None:
        self.kind = kind
        self.item = item
        self.output_index = output_index
        self.parts: list[str] = []


class _MessagesToResponsesStream(StreamTranslator):
    """message_start / content_block_* / message_delta -> the Responses API's stream events."""

    def __init__(self, asked: dict[str, Any]) -> None:
        self.asked = asked
        self.sequence = 0
        self.id = ""
        self.model: Any = None
        self.usage: dict[str, Any] = {}
        self.stop: str | None = None
        self.output: list[dict[str, Any]] = []
        self.blocks: dict[int, _Block] = {}
        self.started = False
        self.finished = False

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse_event(kind, data)

    def _snapshot(self, stop: str | None) -> dict[str, Any]:
        return _response(self.asked, self.id, self.model, list(self.output), stop, self.usage)

    def feed(self, item: dict[str, Any]) -> bytes:
        kind = item.get("type")
        if kind == "message_start":
            message = item.get("message") or {}
            self.id, self.model = str(message.get("id", "")), message.get("model")
            self.usage.update(message.get("usage") or {})
            self.started = True
            snapshot = self._snapshot(None)
            return self._event("response.created", response=snapshot) + self._event(
                "response.in_progress", response=snapshot
            )
        if kind == "content_block_start":
            return self._open(int(item.get("index", 0)), item.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(int(item.get("index", 0)), item.get("delta") or {})
        if kind == "content_block_stop":
            return self._close(int(item.get("index", 0)))
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (item.get("usage") or {}).items() if v is not None})
            self.stop = (item.get("delta") or {}).get("stop_reason") or "end_turn"
            return b""
        if kind == "error":
            error = item.get("error") or {}
            return self._event(
                "error", code=error.get("type"), message=str(error.get("message", "")), param=None
            )
        return b""

    def _open(self, index: int, block: dict[str, Any]) -> bytes:
        kind = block.get("type")
        at = len(self.output) + len(self.blocks)
        if kind == "text":
            item = _message_item(f"msg_{self.id}_{index}", "", "in_progress")
            self.blocks[index] = _Block("text", item, at)
            part = {"type": "output_text", "text": "", "annotations": []}
            return self._event("response.output_item.added", output_index=at, item=item) + self._event(
                "response.content_part.added", item_id=item["id"], output_index=at, content_index=0, part=part
            )
        if kind == "tool_use":
            item = _call_item(block, "", "in_progress")
            self.blocks[index] = _Block("tool", item, at)
            return self._event("response.output_item.added", output_index=at, item=item)
        return b""  # thinking and other provider-only blocks are dropped

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        block = self.blocks.get(index)
        if block is None:
            return b""
        ids = {"item_id": block.item["id"], "output_index": block.output_index}
        if block.kind == "text" and delta.get("type") == "text_delta":
            text = str(delta.get("text", ""))
            block.parts.append(text)
            return self._event("response.output_text.delta", **ids, content_index=0, delta=text, logprobs=[])
        if block.kind == "tool" and delta.get("type") == "input_json_delta":
            piece = str(delta.get("partial_json", ""))
            block.parts.append(piece)
            return self._event("response.function_call_arguments.delta", **ids, delta=piece)
        return b""

    def _close(self, index: int) -> bytes:
        block = self.blocks.pop(index, None)
        if block is None:
            return b""
        whole = "".join(block.parts)
        ids = {"item_id": block.item["id"], "output_index": block.output_index}
        if block.kind == "text":
            done = _message_item(block.item["id"], whole, "completed")
            part = done["content"][0]
            out = self._event("response.output_text.done", **ids, content_index=0, text=whole, logprobs=[])
            out += self._event("response.content_part.done", **ids, content_index=0, part=part)
        else:
            done = {**block.item, "status": "completed", "arguments": whole or "{}"}
            out = self._event("response.function_call_arguments.done", **ids, arguments=done["arguments"])
        self.output.append(done)
        return out + self._event("response.output_item.done", output_index=block.output_index, item=done)

    def finish(self) -> bytes:
        if self.finished or not self.started:
            return b""
        self.finished = True
        out = b"".join(self._close(index) for index in list(self.blocks))
        stop = self.stop or "end_turn"
        final = "response.incomplete" if stop == "max_tokens" else "response.completed"
        return out + self._event(final, response=self._snapshot(stop))
