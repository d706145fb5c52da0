"""`costwarden serve --gateway`: the gateway answers under `gateway.mount` beside the REST API, on the same
port, over real HTTP with the real OpenAI and Anthropic SDKs in front of the fake provider; its calls are
events the REST API reads. Beyond loopback it takes gateway keys only; a bad mount path names its key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from costwarden.cli import main
from costwarden.config import Settings, load_settings
from costwarden.core.usage import EventSource, UsageEvent
from costwarden.errors import ConfigError
from costwarden.gateway.config import GatewayConfig
from costwarden.server import ServerOptions
from costwarden.server.run import ServeOptions, startup_lines
from costwarden.testing import FakeProvider
from costwarden.warden import Warden

from .conftest import running
from .test_serve_cli import _free_port

HELLO = "Hello from the fake provider."
ASK = [{"role": "user", "content": "Say hi"}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


def _gateway(fake: FakeProvider, **extra: object) -> dict[str, object]:
    return {
        "upstreams": [  # no keys: the clients' own credentials pass through
            {"name": "openai", "api": "openai", "base_url": fake.openai_base_url},
            {"name": "anthropic", "api": "anthropic", "base_url": fake.base_url},
        ],
        **extra,
    }


def _events(warden: Warden, count: int) -> list[UsageEvent]:
    deadline = time.monotonic() + 10
    while True:
        events = list(warden.ledger.events())
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.01)


def test_the_gateway_answers_under_its_mount_beside_the_rest_api(fake: FakeProvider, sqlite_url: str) -> None:
    settings = Settings(database=sqlite_url, gateway=GatewayConfig.model_validate(_gateway(fake)))
    with Warden(settings) as warden, running(warden, ServerOptions(gateway=True)) as served:
        base = f"{served.url}/gateway"
        with openai.OpenAI(base_url=f"{base}/v1", api_key="sk-client", max_retries=0) as client:
            reply = client.chat.completions.create(model="gpt-5-mini", messages=ASK)  # type: ignore[arg-type]
            streamed = "".join(
                chunk.choices[0].delta.content or ""
                for chunk in client.chat.completions.create(model="gpt-5-mini", messages=ASK, stream=True)  # type: ignore[arg-type]
                if chunk.choices
            )
            models = [m.id for m in client.models.list()]
        with anthropic.Anthropic(base_url=base, api_key="sk-ant-client", max_retries=0) as claude:
            message = claude.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=ASK)  # type: ignore[arg-type]
        assert reply.choices[0].message.content == HELLO and streamed == HELLO
        assert message.content[0].text == HELLO  # type: ignore[union-attr]
        assert models == []  # no aliases or model lists configured
        assert [r.path for r in fake.requests[-3:]] == ["/v1/chat/completions"] * 2 + ["/v1/messages"]
        assert fake.requests[-1].headers["authorization"] == "Bearer sk-ant-client"  # the client's own key
        events = _events(warden, 3)
        assert {e.source for e in events} == {EventSource.PROXY}
        listed = served.client().get("/api/v1/usage").json()
        assert sorted(e["model"] for e in listed["events"]) == [
            "claude-sonnet-4-5",
            "gpt-5-mini",
            "gpt-5-mini",
        ]
        assert served.client().get("/healthz").status_code == 200
        assert served.client().get("/gateway/health").json() == {"status": "ok"}


def test_mounted_at_v1_the_urls_are_those_of_the_standalone_gateway(fake: FakeProvider) -> None:
    settings = Settings(
        database="memory://", gateway=GatewayConfig.model_validate(_gateway(fake, mount="/v1"))
    )
    with Warden(settings) as warden, running(warden, ServerOptions(gateway=True)) as served:
        with openai.OpenAI(base_url=f"{served.url}/v1", api_key="sk-client", max_retries=0) as client:
            reply = client.chat.completions.create(model="gpt-5-mini", messages=ASK)  # type: ignore[arg-type]
        with anthropic.Anthropic(base_url=served.url, api_key="sk-ant-client", max_retries=0) as claude:
            with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=ASK) as stream:  # type: ignore[arg-type]
                text = "".join(stream.text_stream)
            counted = claude.messages.count_tokens(model="claude-sonnet-4-5", messages=ASK)  # type: ignore[arg-type]
        assert reply.choices[0].message.content == HELLO and text == HELLO
        assert counted.input_tokens > 0
        assert len(_events(warden, 2)) == 2
        assert served.client().get("/api/v1/usage/summary").status_code == 200


@pytest.mark.parametrize("mount", ["/api", "/api/gw", "/dashboard", "/metrics", "gateway", "/", "/a b"])
def test_a_mount_path_serve_cannot_take_names_the_key(mount: str) -> None:
    with pytest.raises(ValueError, match="mount"):
        GatewayConfig.model_validate({"mount": mount})


def test_beyond_loopback_the_gateway_takes_gateway_keys_only(fake: FakeProvider, tmp_path: Path) -> None:
    config = tmp_path / "costwarden.yaml"
    config.write_text(
        f"gateway:\n  upstreams:\n    - {{name: o, api: openai, base_url: '{fake.openai_base_url}'}}\n"
    )
    with Warden(load_settings(config, database="memory://")) as warden:
        from costwarden.access import key_ring

        key_ring(warden).create(role="admin")
        with pytest.raises(ConfigError, match=r"gateway\.require_key") as caught:
            startup_lines(warden, ServeOptions(host="0.0.0.0", gateway=True))
        assert str(config) in str(caught.value)
        assert not any("gateway" in line for line in startup_lines(warden, ServeOptions(host="0.0.0.0")))


def test_serve_gateway_from_the_command_line(
    fake: FakeProvider, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "costwarden.yaml"
    config.write_text(
        "gateway:\n  upstreams:\n"
        f"    - {{name: openai, api: openai, base_url: '{fake.openai_base_url}', api_key_env: TEST_GW_KEY}}\n"
        "  aliases:\n    fast: openai/gpt-5-mini\n",
        encoding="utf-8",
    )
    base = ["--db", sqlite_url, "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if k != "TEST_GW_KEY"}
    assert main([*base, "serve", "--gateway", "--port", str(_free_port())]) == 2  # the key is not set
    err = capsys.readouterr().err
    assert "gateway.upstreams[0].api_key_env" in err and "$TEST_GW_KEY" in err
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "costwarden", *base, "serve", "--gateway", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1", "TEST_GW_KEY": "sk-upstream"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/gateway/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        with openai.OpenAI(base_url=f"{url}/gateway/v1", api_key="sk-client", max_retries=0) as client:
            reply = client.chat.completions.create(model="fast", messages=ASK)  # type: ignore[arg-type]
        assert reply.choices[0].message.content == HELLO
        assert fake.requests[-1].headers["authorization"] == "Bearer sk-upstream"
    finally:
        process.send_signal(signal.SIGTERM)
        out = process.communicate(timeout=60)[0]
    assert process.returncode == 0, out
    assert f"gateway at {url}/gateway (1 upstream(s); any caller on this machine)" in out
    assert f"OPENAI_BASE_URL={url}/gateway/v1 ANTHROPIC_BASE_URL={url}/gateway" in out
    assert "sk-upstream" not in out
    with Warden(Settings(database=sqlite_url)) as warden:
        (event,) = warden.ledger.events()
    assert (event.model, event.source) == ("gpt-5-mini", EventSource.PROXY)
