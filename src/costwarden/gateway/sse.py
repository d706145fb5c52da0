"""Server-sent events as they pass through: complete events are cut out of the byte stream as it arrives
(nothing is held back but an unfinished event), their JSON data is shown to the wire format's stream
state, and OpenAI chat streams that got `include_usage` from the gateway have the usage taken out again.
"""

from __future__ import annotations

import json
from typing import Any

from costwarden.gateway.translate import StreamTranslator
from costwarden.integrations.stream_state import StreamState

__all__ = ["EventCutter", "SseReader", "strip_usage_null"]

_NULL_USAGE = b',"usage":null}'


class EventCutter:
    """Cuts a byte stream into complete events (each ending in a blank line, `\\n\\n` or `\\r\\n\\r\\n`)."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._tail + chunk if self._tail else chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        out: list[bytes] = []
        start = 0
        while True:
            end = data.find(b"\n\n", start)
            if end < 0:
                break
            out.append(data[start : end + 2])
            start = end + 2
        self._tail = data[start:]
        return out

    @property
    def pending(self) -> bytes:
        """What arrived after the last complete event."""
        return self._tail


def event_data(event: bytes) -> bytes | None:
    """The `data:` of one event (its lines joined), or None."""
    parts: list[bytes] = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            parts.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(parts) if parts else None


def strip_usage_null(event: bytes) -> bytes:
    """A chat chunk event with a top-level `"usage":null` (sent because of `include_usage`) without it.

    A compact JSON object whose text ends in `,"usage":null}` has `usage` as its last top-level member
    (a nested object would close with a second brace), so cutting those bytes leaves the chunk exactly as
    the provider sends it without `include_usage`."""
    body = event.rstrip(b"\n")
    if body.endswith(_NULL_USAGE) and body.count(b"\n") == 0:
        return body[: -len(_NULL_USAGE)] + b"}\n\n"
    return event


class SseReader:
    """Reads one stream for its usage; with `hide_usage` (OpenAI chat with `include_usage` added by the
    gateway) it also filters what the client gets."""

    def __init__(
        self, state: StreamState, *, hide_usage: bool = False, translator: StreamTranslator | None = None
    ) -> None:
        self.state = state
        self.hide_usage = hide_usage
        self.translator = translator
        self.cutter = EventCutter()
        self.broken = False
        """True once an event's data was not JSON (the stream is forwarded regardless)."""

    def feed(self, chunk: bytes) -> bytes:
        """Observe a chunk; returns the bytes to forward (the chunk itself unless `hide_usage`)."""
        events = self.cutter.feed(chunk)
        translator = self.translator
        if translator is not None:
            parts = [translator.feed(item) for item in map(self._observe, events) if isinstance(item, dict)]
            return b"".join(parts)
        if not self.hide_usage:
            for event in events:
                self._observe(event)
            return chunk
        out: list[bytes] = []
        for event in events:
            item = self._observe(event)
            if isinstance(item, dict) and item.get("usage") is not None and not item.get("choices"):
                continue  # the usage chunk the client did not ask for
            out.append(strip_usage_null(event))
        return b"".join(out)

    def flush(self) -> bytes:
        """What is left at the end of the stream (an unterminated last event, forwarded as it came)."""
        tail = self.cutter.pending
        item = self._observe(tail + b"\n\n") if tail.strip() else None
        if self.translator is not None:
            last = self.translator.feed(item) if isinstance(item, dict) else b""
            return last + self.translator.finish()
        return tail if self.hide_usage else b""

    def _observe(self, event: bytes) -> Any:
        data = event_data(event)
        if data is None or data == b"[DONE]":
            return None
        try:
            item = json.loads(data)
        except ValueError:
            self.broken = True
            return None
        if isinstance(item, dict):
            self.state.observe(item)
        return item
