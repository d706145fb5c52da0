"""A local HTTP server answering GET requests with the JSON you give it, for testing quota pollers against
the documented shapes of provider usage APIs (OpenRouter's key endpoint, Anthropic's and OpenAI's
organization usage and cost reports) or your own quota URL.

    from costwarden.testing.fake_json_api import FakeJsonApi

    with FakeJsonApi({"/api/v1/key": {"data": {"limit": 25, "usage": 7.5, "limit_remaining": 17.5}}}) as api:
        api.url("/api/v1")                  # http://127.0.0.1:PORT/api/v1
        api.requests[-1].headers            # what the poller sent

A route's answer is a JSON value (status 200), a `(status, value)` pair, or a list of answers given one
after the other (the last repeats). Unknown paths answer 404. It listens on 127.0.0.1 only, in a daemon
thread; `close()` (or leaving the `with`) stops it.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeJsonApi", "JsonRequest"]


@dataclass(frozen=True, slots=True)
class JsonRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeJsonApi


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        status, body = self.server.api._answer(self)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeJsonApi:
    """The server; also a context manager."""

    def __init__(self, routes: Mapping[str, Any] | None = None) -> None:
        self.routes: dict[str, Any] = dict(routes or {})
        self.requests: list[JsonRequest] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="costwarden-json", daemon=True
        )
        self._thread.start()

    def url(self, path: str = "") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def _answer(self, handler: _Handler) -> tuple[int, Any]:
        parts = urllib.parse.urlsplit(handler.path)
        with self._lock:
            self.requests.append(
                JsonRequest(
                    parts.path,
                    urllib.parse.parse_qs(parts.query),
                    {k.lower(): v for k, v in handler.headers.items()},
                )
            )
            if parts.path not in self.routes:
                return 404, {"error": {"message": f"no route {parts.path}"}}
            answer = self.routes[parts.path]
            if isinstance(answer, list):
                n = self._served.get(parts.path, 0)
                self._served[parts.path] = n + 1
                answer = answer[min(n, len(answer) - 1)]
        if isinstance(answer, tuple):
            return int(answer[0]), answer[1]
        return 200, answer

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeJsonApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
