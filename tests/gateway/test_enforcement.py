"""Admission before forwarding: refusals in the client's own wire format (HTTP 429, `retry-after` at the
reset, the notice), which the SDKs do not retry; fallback to another upstream serving the chosen route;
attribution headers; upstream errors passed back unchanged and recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.core.calls import Admission, CallRequest
from costwarden.core.usage import EventStatus
from costwarden.gateway.server import GatewayThread
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

from .conftest import events_of, gateway_config

StartGateway = Callable[..., GatewayThread]
MESSAGES = [{"role": "user", "content": "hi"}]
NOW = datetime(2026, 3, 14, 21, 30, tzinfo=UTC)  # 2 h 30 min before the daily budget resets


class Counting:
    """The Warden, counting the admissions asked for (to see that a refusal is not retried)."""

    def __init__(self, warden: Warden) -> None:
        self._warden = warden
        self.admissions = 0

    async def aadmit(self, request: CallRequest) -> Admission:
        self.admissions += 1
        return await self._warden.aadmit(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._warden, name)


@pytest.fixture
def budget_warden() -> Iterator[Warden]:
    settings = settings_from_mapping(
        {"budgets": [{"id": "daily", "name": "Cloud", "period": "day", "cost_usd": "0.05"}]}
    )
    with Warden(settings, ledger=MemoryLedger(), clock=FixedClock(NOW)) as warden:
        yield warden


def test_openai_refusal_is_a_429_with_retry_after_and_the_notice(
    start_gateway: StartGateway, budget_warden: Warden, fake: FakeProvider
) -> None:
    counting = Counting(budget_warden)
    gw = start_gateway(counting)
    with openai.OpenAI(base_url=gw.openai_base_url, api_key="k", max_retries=2) as client:
        with pytest.raises(openai.RateLimitError) as caught:  # gpt-5: 100k output tokens cost $1 at worst
            client.chat.completions.create(model="gpt-5", messages=MESSAGES, max_completion_tokens=100_000)  # type: ignore[arg-type]
        response = caught.value.response
        assert response.status_code == 429
        assert response.headers["retry-after"] == str(2 * 3600 + 30 * 60)
        assert response.headers["x-should-retry"] == "false"
        body = response.json()
        assert body["error"]["type"] == "insufficient_quota"
        assert body["error"]["code"] == "budget_exceeded"
        assert body["error"]["message"].startswith("Cloud budget")
        details = body["costwarden"]
        assert details["budget"] == "daily" and details["limit"] == "0.05"
        assert details["resets_at"] == "2026-03-15T00:00:00Z"
        assert counting.admissions == 1  # the SDK did not retry
        assert fake.served == 0  # nothing reached the upstream
        # a call that fits is forwarded
        client.chat.completions.create(model="gpt-5", messages=MESSAGES, max_completion_tokens=100)  # type: ignore[arg-type]
    assert fake.served == 1
    (event,) = events_of(budget_warden, 1)
    assert event.status == EventStatus.OK


def test_anthropic_refusal_in_anthropic_format(
    start_gateway: StartGateway, budget_warden: Warden, fake: FakeProvider
) -> None:
    gw = start_gateway(budget_warden)
    with (
        anthropic.Anthropic(base_url=gw.base_url, api_key="k", max_retries=2) as client,
        pytest.raises(anthropic.RateLimitError) as caught,
    ):
        client.messages.create(model="claude-opus-4-1", max_tokens=20_000, messages=MESSAGES)  # type: ignore[arg-type]
    response = caught.value.response
    assert response.headers["retry-after"] == "9000"
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert "Cloud budget" in body["error"]["message"]
    assert body["costwarden"]["budget"] == "daily"
    assert fake.served == 0


def test_refusal_of_a_stream_is_a_plain_429(start_gateway: StartGateway, budget_warden: Warden) -> None:
    gw = start_gateway(budget_warden)
    response = httpx2.post(
        f"{gw.openai_base_url}/chat/completions",
        json={"model": "gpt-5", "messages": MESSAGES, "stream": True, "max_tokens": 100_000},
    )
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "budget_exceeded"


def test_fallback_goes_to_the_upstream_serving_the_chosen_route(
    start_gateway: StartGateway, fake: FakeProvider
) -> None:
    settings = settings_from_mapping(
        {
            "providers": [
                {"name": "openai", "models": ["gpt-5"], "capabilities": ["streaming"], "priority": 1},
                {"name": "ollama", "kind": "local", "models": ["llama3.1"], "capabilities": ["streaming"]},
            ],
            "budgets": [
                {
                    "id": "cloud",
                    "name": "Cloud",
                    "period": "month",
                    "cost_usd": "0.01",
                    "where": {"provider": ["openai"]},
                    "action": "fallback",
                    "fallback": ["local"],
                }
            ],
        }
    )
    config = gateway_config(
        fake,
        upstreams=[
            {
                "name": "openai",
                "api": "openai",
                "base_url": fake.openai_base_url,
                "api_key_env": "TEST_OPENAI_KEY",
            },
            {"name": "ollama", "api": "openai", "base_url": fake.openai_base_url, "models": ["llama3.1"]},
        ],
    )
    with Warden(settings, ledger=MemoryLedger(), clock=FixedClock(NOW)) as warden:
        gw = start_gateway(warden, config)
        with openai.OpenAI(base_url=gw.openai_base_url, api_key="client-own", max_retries=0) as client:
            reply = client.chat.completions.create(
                model="gpt-5",
                messages=MESSAGES,  # type: ignore[arg-type]
                max_completion_tokens=10_000,
                stream=True,
            )
            assert list(reply)
        forwarded = fake.requests[-1]
        assert forwarded.body["model"] == "llama3.1"
        assert forwarded.headers["authorization"] == "Bearer client-own"  # ollama: the client's own key
        (event,) = events_of(warden, 1)
        assert (event.provider, event.model, event.status) == ("ollama", "llama3.1", EventStatus.OK)


def test_attribution_headers(fake: FakeProvider, gateway: GatewayThread, warden: Warden) -> None:
    headers = {
        "x-costwarden-project": "shop",
        "x-costwarden-agent": "triage",
        "x-costwarden-session": "s-1",
        "x-costwarden-run": "r-9",
        "x-costwarden-task": "t-3",
        "x-costwarden-user": "ana",
        "x-costwarden-tags": "team=search, tier=gold",
    }
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key="k", max_retries=0) as client:
        client.chat.completions.create(model="gpt-5", messages=MESSAGES, extra_headers=headers)  # type: ignore[arg-type]
        with pytest.raises(openai.BadRequestError, match="x-costwarden-tags"):
            client.chat.completions.create(
                model="gpt-5",
                messages=MESSAGES,  # type: ignore[arg-type]
                extra_headers={"x-costwarden-tags": "=oops"},
            )
    assert not any(k.startswith("x-costwarden") for k in fake.requests[-1].headers)
    (event,) = events_of(warden, 1)
    a = event.attribution
    assert (a.project, a.agent, a.session, a.run, a.task, a.user) == (
        "shop",
        "triage",
        "s-1",
        "r-9",
        "t-3",
        "ana",
    )
    assert dict(a.tags) == {"team": "search", "tier": "gold"}


@pytest.mark.parametrize("status", [400, 429, 500])
def test_upstream_errors_pass_back_unchanged_and_are_recorded(
    status: int, fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(error=status, error_message=f"upstream says {status}"))
    response = httpx2.post(
        f"{gateway.openai_base_url}/chat/completions", json={"model": "gpt-5", "messages": MESSAGES}
    )
    assert response.status_code == status
    assert response.json()["error"]["message"] == f"upstream says {status}"
    request_id = response.headers["x-request-id"]
    if status == 429:
        assert response.headers["retry-after"] == "1"
    (event,) = events_of(warden, 1)
    assert event.status == EventStatus.ERROR
    assert event.provider_request_id == request_id
    assert event.usage.output_tokens == 0
    snapshot = warden.quotas.latest("openai")
    assert snapshot is not None


def test_anthropic_error_reaches_the_sdk_as_its_own(fake: FakeProvider, gateway: GatewayThread) -> None:
    fake.enqueue(Reply(error=529, error_message="Overloaded"))
    with (
        anthropic.Anthropic(base_url=gateway.base_url, api_key="k", max_retries=0) as client,
        pytest.raises(anthropic.APIStatusError) as caught,
    ):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_unknown_model_and_aliases(start_gateway: StartGateway, warden: Warden, fake: FakeProvider) -> None:
    gw = start_gateway(
        warden,
        upstreams=[
            {
                "name": "oa",
                "api": "openai",
                "base_url": fake.openai_base_url,
                "models": ["gpt-5", "gpt-5-mini"],
            }
        ],
        aliases={"fast": "oa/gpt-5-mini", "smart": "gpt-5"},
    )
    with openai.OpenAI(base_url=gw.openai_base_url, api_key="k", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError, match="no upstream of the gateway serves model 'gpt-4'"):
            client.chat.completions.create(model="gpt-4", messages=MESSAGES)  # type: ignore[arg-type]
        client.chat.completions.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
        assert fake.requests[-1].body["model"] == "gpt-5-mini"
        client.chat.completions.create(model="smart", messages=MESSAGES)  # type: ignore[arg-type]
        assert fake.requests[-1].body["model"] == "gpt-5"
        assert [m.id for m in client.models.list()] == ["fast", "smart", "gpt-5", "gpt-5-mini"]
    models = httpx2.get(f"{gw.base_url}/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    assert models["data"][0] == {
        "type": "model",
        "id": "fast",
        "display_name": "fast",
        "created_at": "2025-01-01T00:00:00Z",
    }
    events = events_of(warden, 2)
    assert [e.model for e in events] == ["gpt-5-mini", "gpt-5"]


def test_gateway_errors_in_the_clients_format(gateway: GatewayThread) -> None:
    bad = httpx2.post(f"{gateway.openai_base_url}/chat/completions", content=b"{not json")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
    missing = httpx2.post(f"{gateway.base_url}/v1/messages", json={"max_tokens": 1})
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert missing.json()["type"] == "error"
    nowhere = httpx2.get(f"{gateway.base_url}/v2/nothing")
    assert nowhere.status_code == 404


def test_a_terminated_run_is_refused_from_then_on(start_gateway: StartGateway, fake: FakeProvider) -> None:
    settings = settings_from_mapping(
        {
            "budgets": [
                {"id": "per-run", "scope": "run", "period": "run", "tokens": 3000, "action": "terminate_run"}
            ]
        }
    )
    with Warden(settings, ledger=MemoryLedger(), clock=FixedClock(NOW)) as warden:
        gw = start_gateway(warden)
        fake.enqueue(Reply(input_tokens=10, output_tokens=1000))
        run = {"x-costwarden-run": "run-42"}
        with openai.OpenAI(base_url=gw.openai_base_url, api_key="k", max_retries=2) as client:
            client.chat.completions.create(
                model="gpt-5",
                messages=MESSAGES,  # type: ignore[arg-type]
                max_completion_tokens=1000,
                extra_headers=run,
            )
            with pytest.raises(openai.RateLimitError) as caught:  # 1000 + 2500 tokens: over the run's 3000
                client.chat.completions.create(
                    model="gpt-5",
                    messages=MESSAGES,  # type: ignore[arg-type]
                    max_completion_tokens=2500,
                    extra_headers=run,
                )
            body = caught.value.response.json()
            assert body["error"]["code"] == "run_terminated"
            assert body["costwarden"]["run"] == "run-42"
            assert "retry-after" not in caught.value.response.headers  # a terminated run never resumes
            assert caught.value.response.headers["x-should-retry"] == "false"
            with pytest.raises(openai.RateLimitError, match="run"):  # even a small call of that run
                client.chat.completions.create(
                    model="gpt-5",
                    messages=MESSAGES,  # type: ignore[arg-type]
                    max_completion_tokens=10,
                    extra_headers=run,
                )
            # another run is not affected
            client.chat.completions.create(
                model="gpt-5",
                messages=MESSAGES,  # type: ignore[arg-type]
                max_completion_tokens=10,
                extra_headers={"x-costwarden-run": "run-43"},
            )
        assert fake.served == 2


def test_require_key(start_gateway: StartGateway, fake: FakeProvider) -> None:
    with Warden(settings_from_mapping({}), ledger=MemoryLedger()) as warden:
        gw = start_gateway(warden, require_key=True)
        with (
            openai.OpenAI(base_url=gw.openai_base_url, api_key="sk-not-ours", max_retries=0) as client,
            pytest.raises(openai.AuthenticationError, match="needs a costwarden gateway key"),
        ):
            client.chat.completions.create(model="gpt-5", messages=MESSAGES)  # type: ignore[arg-type]
    assert fake.served == 0
