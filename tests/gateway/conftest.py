"""Fixtures of the gateway tests: one fake provider per module, a gateway in a background thread in front
of it (an OpenAI-format and an Anthropic-format upstream, keys from a test environment), a Warden on an
in-memory ledger."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from costwarden.core.usage import UsageEvent
from costwarden.gateway.config import GatewayConfig
from costwarden.gateway.server import GatewayThread
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider
from costwarden.warden import Warden

UPSTREAM_KEYS = {"TEST_OPENAI_KEY": "sk-upstream-openai", "TEST_ANTHROPIC_KEY": "sk-ant-upstream"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeProvider) -> None:
    fake.reset()


def gateway_config(fake: FakeProvider, **extra: Any) -> GatewayConfig:
    """Two upstreams on the fake provider: `openai` (OpenAI format) and `anthropic`."""
    data: dict[str, Any] = {
        "upstreams": [
            {
                "name": "openai",
                "api": "openai",
                "base_url": fake.openai_base_url,
                "api_key_env": "TEST_OPENAI_KEY",
            },
            {
                "name": "anthropic",
                "api": "anthropic",
                "base_url": fake.base_url,
                "api_key_env": "TEST_ANTHROPIC_KEY",
            },
        ],
        **extra,
    }
    return GatewayConfig.model_validate(data)


@pytest.fixture
def warden() -> Iterator[Warden]:
    with Warden(ledger=MemoryLedger()) as w:
        yield w


StartGateway = Callable[..., GatewayThread]


@pytest.fixture
def start_gateway(fake: FakeProvider) -> Iterator[StartGateway]:
    """`start_gateway(warden, upstream=fake, **config)` -> a running gateway, stopped after the test."""
    started: list[GatewayThread] = []

    def start(
        warden: Any,
        config: GatewayConfig | None = None,
        *,
        upstream: FakeProvider | None = None,
        **extra: Any,
    ) -> GatewayThread:
        if config is None:
            config = gateway_config(upstream if upstream is not None else fake, **extra)
        gw = GatewayThread(warden, config, environ=UPSTREAM_KEYS)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.close()


@pytest.fixture
def gateway(start_gateway: StartGateway, warden: Warden) -> GatewayThread:
    return start_gateway(warden)


def events_of(warden: Warden, count: int, timeout: float = 10.0) -> list[UsageEvent]:
    """The ledger's events once there are `count` (the gateway settles right after the answer is sent)."""
    deadline = time.monotonic() + timeout
    while True:
        events = list(warden.ledger.events())
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.005)
