"""A webhook receiver for tests and local trials: a small HTTP server on loopback that checks each
request's Standard Webhooks signature (when given the secret), remembers every request, and counts each
alert once by its `webhook-id`, as a real receiver should.

    with WebhookReceiver(secret=secret) as hook:
        ...                                   # configure a webhook channel with url=hook.url
        hook.wait_for(1)                      # the first alert arrived
        hook.alerts[0]["data"]["message"]

`down()` stops listening (connections are refused, the port is kept), `up()` listens again on the same
port; `answer(503)` makes it answer with a status until `answer(200)`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from costwarden.clock import SYSTEM_CLOCK

__all__ = ["WebhookReceiver", "ReceivedWebhook"]

_TOLERANCE = 300


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    """One request as received: its headers (lower-case names), raw body, whether its signature was valid
    (None without a secret to check it) and the status answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None
    status: int

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


def _valid(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures) or not stamp.isdigit():
        return False
    if abs(now - int(stamp)) > _TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for item in signatures.split(" "):
        version, _, value = item.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: WebhookReceiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = self.server.receiver._receive(self.path, headers, body)
        answer = b'{"ok":true}' if 200 <= status < 300 else b'{"ok":false}'
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class WebhookReceiver:
    """The server; also a context manager. `url` stays the same across `down()` / `up()`."""

    def __init__(self, *, secret: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.secret = secret
        self.requests: list[ReceivedWebhook] = []
        self.status = 200
        self._seen: dict[str, ReceivedWebhook] = {}
        self._lock = threading.Condition()
        self._host = host
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = port
        self.up()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}/hooks/costwarden"

    def up(self) -> None:
        """Listen (again, on the same port)."""
        if self._server is not None:
            return
        server = _Server((self._host, self._port), _Handler)
        server.receiver = self
        self._port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: senders get `connection refused` until `up()`."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def answer(self, status: int) -> None:
        """Answer every request with `status` from now on (200 by default)."""
        self.status = status

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        verified = None if self.secret is None else _valid(self.secret, headers, body, SYSTEM_CLOCK())
        status = self.status if verified is not False else 401
        item = ReceivedWebhook(path, headers, body, verified, status)
        with self._lock:
            self.requests.append(item)
            if 200 <= status < 300 and item.id and item.id not in self._seen:
                self._seen[item.id] = item
            self._lock.notify_all()
        return status

    @property
    def unique(self) -> list[ReceivedWebhook]:
        """Accepted requests, one per `webhook-id` (the first), in arrival order."""
        with self._lock:
            return list(self._seen.values())

    @property
    def alerts(self) -> list[Any]:
        """The JSON bodies of `unique`."""
        return [item.json() for item in self.unique]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedWebhook]:
        """Wait until `count` distinct alerts were accepted; raises TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._seen) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._seen)} of {count} webhooks arrived within {timeout}s")
                self._lock.wait(left)
            return list(self._seen.values())

    def close(self) -> None:
        self.down()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
