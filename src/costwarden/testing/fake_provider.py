"""A local HTTP server speaking OpenAI (chat completions, Responses API) and Anthropic (messages).

    from costwarden.testing import FakeProvider, Reply

    with FakeProvider() as fake:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test", max_retries=0)
        fake.enqueue(Reply(input_tokens=1000, cache_read_tokens=500, output_tokens=200))
        client.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}])
        fake.requests[-1].body            # what the SDK sent

Each request takes the next queued `Reply` (else `fake.default`): plain JSON or SSE (`stream: true`), usage
with cached and reasoning tokens, the provider's request-id and rate-limit headers, injected errors
(`Reply(error=429)`) and streams cut off mid-way (`Reply(interrupt_after=3)`). Token counts left unset
are derived from the request (about four characters per token), so a demo gets plausible numbers.
`FakeProvider(response_ids=999)` answers like Ollama's OpenAI-compatible endpoint: response ids drawn at
random from that many values (`chatcmpl-0` ... `chatcmpl-998`, `msg_0`, ...), so they repeat.
It listens on 127.0.0.1 only, in a daemon thread; `close()` (or leaving the `with`) stops it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from costwarden.clock import SYSTEM_CLOCK
from costwarden.testing.wire import Rendered, Reply, error_body, render, sse

__all__ = ["FakeProvider", "Reply", "ReceivedRequest", "main"]

_ROUTES = {
    "/v1/chat/completions": "chat",
    "/chat/completions": "chat",
    "/v1/responses": "responses",
    "/responses": "responses",
    "/v1/messages": "anthropic",
    "/messages": "anthropic",
    "/v1/messages/count_tokens": "count_tokens",
}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the fake provider received."""

    api: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""
    """The body exactly as it arrived."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-stream is normal here (abandoned streams); anything else is printed."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    def do_GET(self) -> None:
        self._json(404, {"error": {"message": "not found", "type": "not_found"}}, {})

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(
        self, events: list[tuple[str | None, str]], headers: dict[str, str], cut: int | None, pause: float
    ) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        for index, (event, data) in enumerate(events):
            if cut is not None and index >= cut:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if pause and index:
                self.wfile.flush()
                time.sleep(pause)
            payload = sse(event, data)
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class FakeProvider:
    """The server; also a context manager. Thread-safe: many clients may call it at once."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Reply | None = None,
        response_ids: int | None = None,
    ) -> None:
        if response_ids is not None and response_ids < 1:
            raise ValueError(f"response_ids: expected a number of values of at least 1, got {response_ids}")
        self.default = default if default is not None else Reply()
        self.requests: list[ReceivedRequest] = []
        self.rate_limit_requests = 10_000
        self.rate_limit_tokens = 2_000_000
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._served = 0
        self._ids = (f"{os.getpid():x}{n:08x}{os.urandom(4).hex()}" for n in itertools.count(1))
        self._response_ids = self._ids if response_ids is None else _drawn(random.Random(), response_ids)
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="costwarden-fake", daemon=True
        )
        self._thread.start()

    # -- addresses ---------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (the Anthropic SDK's base URL)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1` (the OpenAI SDK's base URL)."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    def client_kwargs(self, provider: str) -> dict[str, Any]:
        """Keyword arguments for `openai.OpenAI(...)` or `anthropic.Anthropic(...)` pointing here."""
        url = self.openai_base_url if provider == "openai" else self.anthropic_base_url
        return {"base_url": url, "api_key": "test-key", "max_retries": 0}

    # -- scripting ---------------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply, **fields: Any) -> None:
        """Queue answers for the next requests (`enqueue(error=500)` queues one Reply built from fields)."""
        with self._lock:
            self._queue.extend(replies)
            if fields:
                self._queue.append(Reply(**fields))

    @property
    def served(self) -> int:
        """How many requests were answered."""
        return self._served

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self._served = 0

    # -- lifecycle ---------------------------------------------------------------------------------------

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- serving -----------------------------------------------------------------------------------------

    def _next(self) -> tuple[Reply, int]:
        with self._lock:
            reply = self._queue.popleft() if self._queue else self.default
            self._served += 1
            return reply, self._served

    def _handle(self, handler: _Handler) -> None:
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        api = _ROUTES.get(path)
        if api is None:
            handler._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}}, {})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            handler._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}}, {})
            return
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(ReceivedRequest(api=api, path=path, headers=headers, body=body, raw=raw))
        if api == "count_tokens":
            handler._json(200, {"input_tokens": self._counts(body, self.default)[0]}, {})
            return
        reply, number = self._next()
        if reply.delay:
            time.sleep(reply.delay)
        with self._lock:  # one id generator for every handler thread
            request_id = f"req_{next(self._ids)}"
        out_headers = self._headers(api, request_id, number, reply)
        if reply.error is not None:
            handler._json(
                reply.error,
                error_body("anthropic" if api == "anthropic" else "openai", reply.error, reply, request_id),
                out_headers,
            )
            return
        inp, out = self._counts(body, reply)
        with self._lock:
            response_id = next(self._response_ids)
        rendered: Rendered = render(api, body, reply, inp=inp, out=out, ids=iter((response_id,)))
        if rendered.body is not None:
            handler._json(rendered.status, rendered.body, out_headers)
        else:
            handler._stream(rendered.events, out_headers, reply.interrupt_after, reply.chunk_delay)

    @staticmethod
    def _counts(body: dict[str, Any], reply: Reply) -> tuple[int, int]:
        inp = reply.input_tokens
        if inp is None:
            text = json.dumps([body.get(k) for k in ("system", "instructions", "messages", "input")])
            inp = max(1, len(text) // 4)
        out = reply.output_tokens
        if out is None:
            out = max(1, len(reply.text) // 4) + reply.reasoning_tokens
        return inp, max(out, reply.reasoning_tokens)

    def _headers(self, api: str, request_id: str, number: int, reply: Reply) -> dict[str, str]:
        left_requests = max(0, self.rate_limit_requests - number)
        left_tokens = max(0, self.rate_limit_tokens - 1000 * number)
        if api == "anthropic":
            reset = (SYSTEM_CLOCK.now() + timedelta(seconds=60)).replace(microsecond=0)
            stamp = reset.isoformat().replace("+00:00", "Z")
            headers = {
                "request-id": request_id,
                "anthropic-ratelimit-requests-limit": str(self.rate_limit_requests),
                "anthropic-ratelimit-requests-remaining": str(left_requests),
                "anthropic-ratelimit-requests-reset": stamp,
                "anthropic-ratelimit-tokens-limit": str(self.rate_limit_tokens),
                "anthropic-ratelimit-tokens-remaining": str(left_tokens),
                "anthropic-ratelimit-tokens-reset": stamp,
            }
        else:
            headers = {
                "x-request-id": request_id,
                "openai-processing-ms": "1",
                "x-ratelimit-limit-requests": str(self.rate_limit_requests),
                "x-ratelimit-remaining-requests": str(left_requests),
                "x-ratelimit-reset-requests": "6ms",
                "x-ratelimit-limit-tokens": str(self.rate_limit_tokens),
                "x-ratelimit-remaining-tokens": str(left_tokens),
                "x-ratelimit-reset-tokens": "1m30s",
            }
        if reply.error == 429:
            headers["retry-after"] = "1"
        headers.update(reply.headers)
        return headers

    def with_default(self, **fields: Any) -> FakeProvider:
        """Change the default reply's fields (for every request not given a queued reply); returns self."""
        self.default = replace(self.default, **fields)
        return self


def _drawn(rnd: random.Random, values: int) -> Iterator[str]:
    """Ids as a server that draws them from `values` numbers gives them (`rand.Intn(999)` in Ollama)."""
    while True:
        yield str(rnd.randrange(values))


def main(argv: list[str] | None = None) -> None:
    """`python -m costwarden.testing [--port N]`: serve until interrupted; prints the base URL first."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="A fake OpenAI/Anthropic provider on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--rate-limit-requests", type=int, default=None, help="the request limit its headers announce"
    )
    parser.add_argument(
        "--rate-limit-tokens", type=int, default=None, help="the token limit its headers announce"
    )
    args = parser.parse_args(argv)
    with FakeProvider(port=args.port) as fake:
        if args.rate_limit_requests is not None:
            fake.rate_limit_requests = args.rate_limit_requests
        if args.rate_limit_tokens is not None:
            fake.rate_limit_tokens = args.rate_limit_tokens
        print(fake.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        sys.stdout.flush()
