"""Virtual keys: a gateway key (`keys create --gateway --project X --agent Y`) sent as the client's API key
attributes its calls (and so picks their budgets); headers add to it where the key allows; unknown,
revoked and non-gateway keys are refused in the client's format; the key never reaches the upstream."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import openai
import pytest

from costwarden.gateway.server import GatewayThread
from costwarden.testing import FakeProvider
from costwarden.warden import Warden

from .conftest import events_of

key_ring = pytest.importorskip("costwarden.access").key_ring  # the key store (costwarden serve's)
StartGateway = Callable[..., GatewayThread]
MESSAGES = [{"role": "user", "content": "hi"}]


def test_gateway_key_attributes_and_stays_in_the_gateway(
    start_gateway: StartGateway, fake: FakeProvider, sqlite_url: str
) -> None:
    with Warden(database=sqlite_url) as warden:
        ring = key_ring(warden)
        key = ring.create(role="gateway", projects=["shop"], agent="triage")
        gw = start_gateway(warden)
        with openai.OpenAI(base_url=gw.openai_base_url, api_key=key.secret, max_retries=0) as client:
            client.chat.completions.create(
                model="gpt-5",
                messages=MESSAGES,  # type: ignore[arg-type]
                extra_headers={"x-costwarden-session": "s-7", "x-costwarden-tags": "team=search"},
            )
            with pytest.raises(openai.PermissionDeniedError, match="does not allow x-costwarden-project"):
                client.chat.completions.create(
                    model="gpt-5",
                    messages=MESSAGES,  # type: ignore[arg-type]
                    extra_headers={"x-costwarden-project": "other"},
                )
        with anthropic.Anthropic(base_url=gw.base_url, api_key=key.secret, max_retries=0) as a_client:
            a_client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
        forwarded = fake.requests
        assert forwarded[0].headers["authorization"] == "Bearer sk-upstream-openai"
        assert forwarded[1].headers["x-api-key"] == "sk-ant-upstream"
        assert all(key.secret not in str(r.headers) for r in forwarded)
        events = events_of(warden, 2)
        gw.close()
    first, second = events
    assert (first.attribution.project, first.attribution.agent, first.attribution.session) == (
        "shop",
        "triage",
        "s-7",
    )
    assert dict(first.attribution.tags) == {"team": "search"}
    assert (second.attribution.project, second.attribution.agent) == ("shop", "triage")


def test_bad_keys_are_refused_in_the_clients_format(
    start_gateway: StartGateway, fake: FakeProvider, sqlite_url: str
) -> None:
    with Warden(database=sqlite_url) as warden:
        ring = key_ring(warden)
        revoked = ring.create(role="gateway", projects=["shop"])
        ring.revoke(revoked.key.id)
        reader = ring.create(role="reader")
        gw = start_gateway(warden)
        with (
            openai.OpenAI(base_url=gw.openai_base_url, api_key=revoked.secret, max_retries=0) as client,
            pytest.raises(openai.AuthenticationError, match="unknown or revoked costwarden key"),
        ):
            client.chat.completions.create(model="gpt-5", messages=MESSAGES)  # type: ignore[arg-type]
        with (
            anthropic.Anthropic(base_url=gw.base_url, api_key=reader.secret, max_retries=0) as a_client,
            pytest.raises(anthropic.PermissionDeniedError, match="not a gateway key"),
        ):
            a_client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
        gw.close()
    assert fake.served == 0
