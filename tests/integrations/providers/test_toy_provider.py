"""Adding a provider = one module: this test module alone brings a provider costwarden has never heard of,
"toy", with its own SDK, wire format and HTTP server (its fake wire), registers one adapter, and a toy
client is then wrapped, admitted, measured, priced and recorded like an OpenAI or Anthropic client.

The toy SDK is deliberately unlike the openai/anthropic SDKs: one method on the client itself, no raw
response mode (it returns its reply with the response headers on it), its own usage field names and a
line-delimited JSON stream.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any

import pytest

from costwarden.config import settings_from_mapping
from costwarden.core.usage import CostSource, EventStatus, Usage
from costwarden.errors import BudgetExceeded
from costwarden.integrations import is_wrapped
from costwarden.integrations.adapter import Endpoint
from costwarden.integrations.kinds import Kind, positive_int
from costwarden.integrations.providers import adapter_for_client, adapter_named, register, unregister
from costwarden.integrations.stream_state import StreamState
from costwarden.integrations.usage import count, field, slices
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.warden import Warden

# -- the toy provider's wire: a server speaking it ---------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _ToyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        server.received.append(body)
        number = len(server.received)
        usage = {"in": 1200, "cached": 200, "out": 300}
        self.send_response(200)
        self.send_header("x-request-id", f"req-{number}")
        self.send_header("x-ratelimit-remaining-requests", "41")
        if not body.get("stream"):
            data = json.dumps(
                {"id": f"toy-{number}", "model": body["model"], "text": "hello there", "usage": usage}
            ).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        lines = [{"kind": "start", "id": f"toy-{number}", "model": body["model"]}]
        lines += [{"kind": "text", "text": word} for word in ("hello ", "there ", "again")]
        lines.append({"kind": "end", "usage": usage})
        data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _ToyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict[str, Any]] = []


# -- the toy SDK -------------------------------------------------------------------------------------------


@dataclass
class ToyReply:
    id: str
    model: str
    text: str
    usage: dict[str, int]
    headers: Mapping[str, str] = dataclass_field(default_factory=dict)


class ToyStream:
    """Lines of the stream as dicts; `close()` hangs up."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.headers = response.headers
        self._iterator = self._lines()

    def _lines(self) -> Iterator[dict[str, Any]]:
        try:
            for line in self.response:
                yield json.loads(line)
        finally:
            self.response.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self._iterator

    def close(self) -> None:
        self.response.close()


class ToyClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def with_options(self) -> ToyClient:
        return ToyClient(self.base_url)

    def generate(
        self, *, model: str, prompt: str, max_tokens: int | None = None, stream: bool = False
    ) -> ToyReply | ToyStream:
        body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "stream": stream}
        request = urllib.request.Request(
            f"{self.base_url}/v1/generate",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        response = urllib.request.urlopen(request)
        if stream:
            return ToyStream(response)
        with response:
            data = json.loads(response.read())
            return ToyReply(**data, headers=dict(response.headers))


# -- the adapter: all costwarden needs to know about "toy" --------------------------------------------------


def toy_usage(block: Any) -> Usage:
    """`in` counts the cached tokens too."""
    cached = count(block, "cached")
    return slices(
        input_tokens=count(block, "in") - cached,
        cache_read=cached,
        cache_write=0,
        cache_write_1h=0,
        output=count(block, "out"),
        reasoning=0,
    )


class ToyState(StreamState):
    def observe(self, item: Any) -> None:
        kind = field(item, "kind")
        if kind == "start":
            self.take_ids(item)
        elif kind == "text":
            self.add_text(field(item, "text"))
        elif kind == "end":
            self.usage = toy_usage(field(item, "usage"))
            self.complete = True


class ToyGenerate(Kind):
    name = "toy.generate"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        return positive_int(kwargs.get("max_tokens"))

    def usage_block(self, usage: Any) -> Usage:
        return toy_usage(usage)

    def output_text(self, response: Any) -> str:
        text = field(response, "text")
        return text if isinstance(text, str) else ""

    def new_state(self) -> StreamState:
        return ToyState()


GENERATE = ToyGenerate()


class ToyAdapter:
    """Written against the `ProviderAdapter` protocol alone."""

    name = "toy"
    endpoints = (Endpoint((), "generate", GENERATE),)
    wires: Mapping[str, Kind] = MappingProxyType({"generate": GENERATE})
    raw_header = None

    def matches(self, client: Any) -> bool:
        return isinstance(client, ToyClient)

    def default_provider(self, client: Any) -> str:
        return "toy"

    def copy(self, client: Any) -> Any:
        return client.with_options()

    def is_async(self, client: Any) -> bool:
        return False

    def parse(self, raw: Any) -> Any:
        return raw


# -- the tests ---------------------------------------------------------------------------------------------

PRICES = {
    "custom_models": [{"provider": "toy", "model": "toy-large", "input": 2, "output": 6, "cache_read": 0.5}]
}


@pytest.fixture
def toy_server() -> Iterator[_ToyServer]:
    server = _ToyServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def toy() -> Iterator[ToyAdapter]:
    adapter = ToyAdapter()
    register(adapter)
    try:
        yield adapter
    finally:
        unregister("toy")


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture
def toy_warden(ledger: MemoryLedger) -> Iterator[Warden]:
    with Warden(settings_from_mapping({"pricing": PRICES}), ledger=ledger) as warden:
        yield warden


def _client(server: _ToyServer) -> ToyClient:
    return ToyClient(f"http://127.0.0.1:{server.server_address[1]}")


def test_an_unregistered_provider_is_refused(toy_server: _ToyServer, toy_warden: Warden) -> None:
    with pytest.raises(
        TypeError, match=r"cannot wrap .*ToyClient: expected a client of a registered provider"
    ):
        toy_warden.wrap(_client(toy_server))
    assert adapter_for_client(_client(toy_server)) is None


def test_a_registered_provider_is_wrapped_priced_and_recorded(
    toy: ToyAdapter, toy_server: _ToyServer, toy_warden: Warden, ledger: MemoryLedger
) -> None:
    bare = _client(toy_server)
    assert adapter_for_client(bare) is toy and adapter_named("toy") is toy
    client = toy_warden.wrap(bare, project="shop")
    assert is_wrapped(client) and not is_wrapped(bare) and type(client) is ToyClient

    reply = client.generate(model="toy-large", prompt="hi", max_tokens=500)
    assert isinstance(reply, ToyReply) and reply.text == "hello there"
    (event,) = ledger.events()
    assert (event.provider, event.model, event.attribution.project) == ("toy", "toy-large", "shop")
    assert event.usage == Usage(input_tokens=1000, cache_read_tokens=200, output_tokens=300)
    # 1000 x $2 + 200 x $0.50 + 300 x $6 per million
    assert event.cost is not None and event.cost.total == Decimal("0.0039")
    assert (event.cost.source, event.cost.price_ref) == (CostSource.COMPUTED, "custom:toy-large")
    assert (event.provider_response_id, event.provider_request_id) == ("toy-1", "req-1")
    assert event.status is EventStatus.OK
    sent = {"model": "toy-large", "prompt": "hi", "max_tokens": 500, "stream": False}
    assert toy_server.received == [sent]


def test_a_toy_stream_settles_with_its_reported_usage_or_estimated_when_closed(
    toy: ToyAdapter, toy_server: _ToyServer, toy_warden: Warden, ledger: MemoryLedger
) -> None:
    client = toy_warden.wrap(_client(toy_server))
    stream = client.generate(model="toy-large", prompt="hi", stream=True)
    assert isinstance(stream, ToyStream)
    assert "".join(line.get("text", "") for line in stream) == "hello there again"
    (event,) = ledger.events()
    assert event.usage == Usage(input_tokens=1000, cache_read_tokens=200, output_tokens=300)
    assert (event.provider_response_id, event.provider_request_id) == ("toy-1", "req-1")
    assert event.cost is not None and event.cost.source is CostSource.COMPUTED

    stream = client.generate(model="toy-large", prompt="hi", stream=True)
    assert isinstance(stream, ToyStream)
    next(iter(stream))  # the start line, then the caller hangs up
    stream.close()
    del stream
    events = list(ledger.events())
    assert len(events) == 2
    last = events[-1]
    assert last.status is EventStatus.CANCELLED and last.cost is not None
    assert last.cost.source is CostSource.ESTIMATED and last.provider_response_id == "toy-2"


def test_a_toy_call_over_budget_is_refused_before_it_is_sent(
    toy: ToyAdapter, toy_server: _ToyServer, ledger: MemoryLedger
) -> None:
    config = {
        "pricing": PRICES,
        "budgets": [
            {"id": "toy-cap", "scope": "provider", "value": "toy", "period": "day", "cost_usd": 0.001}
        ],
    }
    with Warden(settings_from_mapping(config), ledger=ledger) as warden:
        client = warden.wrap(_client(toy_server))
        with pytest.raises(BudgetExceeded):
            client.generate(model="toy-large", prompt="hi", max_tokens=100_000)
    assert toy_server.received == [] and list(ledger.events()) == []
