"""The real OpenAI and Anthropic SDKs (sync, async, streaming) talk to the gateway, which talks to the fake
provider: the request bodies arrive byte-identical to what the SDK sends directly, the answers parse, and
each call is one event with the upstream's request id."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable

import anthropic
import openai
import pytest

from costwarden.core.usage import EventSource, EventStatus
from costwarden.gateway.app import Gateway
from costwarden.gateway.config import GatewayConfig
from costwarden.gateway.server import GatewayThread
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

from .conftest import events_of

StartGateway = Callable[..., GatewayThread]
MESSAGES = [{"role": "user", "content": "Summarise the plot of Hamlet in one line."}]


def openai_client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="client-key", max_retries=0)


def anthropic_client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key="client-key", max_retries=0)


def test_openai_chat_body_arrives_byte_identical(
    fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    kwargs = {"model": "gpt-5", "messages": MESSAGES, "max_completion_tokens": 64, "temperature": 0.5}
    with openai_client(fake.openai_base_url) as direct, openai_client(gateway.openai_base_url) as via:
        direct.chat.completions.create(**kwargs)  # type: ignore[call-overload]
        reply = via.chat.completions.create(**kwargs)  # type: ignore[call-overload]
    sent, forwarded = fake.requests
    assert forwarded.raw == sent.raw
    assert forwarded.path == "/v1/chat/completions"
    assert forwarded.headers["authorization"] == "Bearer sk-upstream-openai"
    assert reply.choices[0].message.content == "Hello from the fake provider."
    (event,) = events_of(warden, 1)
    assert (event.provider, event.model, event.source, event.status) == (
        "openai",
        "gpt-5",
        EventSource.PROXY,
        EventStatus.OK,
    )
    assert event.usage.output_tokens == reply.usage.completion_tokens  # type: ignore[union-attr]
    assert event.provider_request_id is not None and event.provider_request_id.startswith("req_")
    assert event.provider_response_id == reply.id


def test_openai_responses_and_anthropic_messages_byte_identical(
    fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    with openai_client(fake.openai_base_url) as direct, openai_client(gateway.openai_base_url) as via:
        direct.responses.create(model="gpt-5", input="hello", max_output_tokens=50)
        reply = via.responses.create(model="gpt-5", input="hello", max_output_tokens=50)
    assert fake.requests[1].raw == fake.requests[0].raw
    assert reply.output_text == "Hello from the fake provider."
    fake.reset()
    kwargs = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": MESSAGES, "system": "Be brief."}
    with anthropic_client(fake.base_url) as a_direct, anthropic_client(gateway.base_url) as a_via:
        a_direct.messages.create(**kwargs)  # type: ignore[call-overload]
        message = a_via.messages.create(**kwargs)  # type: ignore[call-overload]
    sent, forwarded = fake.requests
    assert forwarded.raw == sent.raw and forwarded.path == "/v1/messages"
    assert forwarded.headers["x-api-key"] == "sk-ant-upstream"
    assert forwarded.headers["anthropic-version"] == sent.headers["anthropic-version"]
    assert message.content[0].text == "Hello from the fake provider."  # type: ignore[union-attr]
    events = events_of(warden, 2)
    assert [(e.provider, e.model) for e in events] == [
        ("openai", "gpt-5"),
        ("anthropic", "claude-sonnet-4-5"),
    ]
    assert events[1].usage.input_tokens == message.usage.input_tokens


def _normalised(text: str) -> str:
    return re.sub(r'"created":\d+', '"created":0', text)


def test_openai_stream_gets_usage_upstream_and_the_client_sees_what_it_asked_for(
    start_gateway: StartGateway, warden: Warden
) -> None:
    with FakeProvider(response_ids=1) as fixed:  # the same response id every time: streams compare equal
        gw = start_gateway(warden, upstream=fixed)
        kwargs = {"model": "gpt-5", "messages": MESSAGES, "stream": True}
        with openai_client(fixed.openai_base_url) as direct, openai_client(gw.openai_base_url) as via:
            with direct.chat.completions.with_streaming_response.create(**kwargs) as raw:  # type: ignore[call-overload]
                direct_text = raw.read().decode()
            with via.chat.completions.with_streaming_response.create(**kwargs) as raw:  # type: ignore[call-overload]
                via_text = raw.read().decode()
            chunks = list(via.chat.completions.create(**kwargs))  # type: ignore[call-overload]
        assert "stream_options" not in fixed.requests[0].body
        assert fixed.requests[1].body["stream_options"] == {"include_usage": True}
        # nothing of the usage the gateway asked for reaches the client: the stream is the direct one
        assert _normalised(via_text) == _normalised(direct_text)
        assert '"usage"' not in via_text
        assert all(chunk.usage is None for chunk in chunks)
        events = events_of(warden, 2)
        assert len(events) == 2 and all(e.status == EventStatus.OK for e in events)
        assert events[0].usage.output_tokens > 0 and events[0].cost is not None
        assert events[0].cost.source == "computed"

        # a client asking for the usage gets the usage chunk, as it would directly
        with openai_client(gw.openai_base_url) as via:
            stream = via.chat.completions.create(
                model="gpt-5", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            last = list(stream)[-1]
        assert last.usage is not None and last.usage.completion_tokens > 0
        body = fixed.requests[-1].raw
        assert json.loads(body)["stream_options"] == {"include_usage": True}


def test_anthropic_stream_usage_from_message_start_and_delta(
    fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(input_tokens=1200, cache_read_tokens=300, output_tokens=77, chunks=5))
    with (
        anthropic_client(gateway.base_url) as client,
        client.messages.stream(model="claude-sonnet-4-5", max_tokens=500, messages=MESSAGES) as stream,
    ):
        final = stream.get_final_message()
    assert final.usage.output_tokens == 77
    (event,) = events_of(warden, 1)
    assert event.usage.input_tokens == 1200
    assert event.usage.cache_read_tokens == 300
    assert event.usage.output_tokens == 77
    assert event.status == EventStatus.OK and event.provider_request_id is not None


def test_async_clients(fake: FakeProvider, gateway: GatewayThread, warden: Warden) -> None:
    async def main() -> None:
        async with (
            openai.AsyncOpenAI(base_url=gateway.openai_base_url, api_key="k", max_retries=0) as oa,
            anthropic.AsyncAnthropic(base_url=gateway.base_url, api_key="k", max_retries=0) as an,
        ):
            plain = await oa.chat.completions.create(model="gpt-5", messages=MESSAGES)  # type: ignore[arg-type]
            assert plain.usage is not None
            stream = await oa.responses.create(model="gpt-5", input="hi", stream=True)
            kinds = [event.type async for event in stream]
            assert kinds[-1] == "response.completed"
            message = await an.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                messages=MESSAGES,  # type: ignore[arg-type]
            )
            assert message.usage.output_tokens > 0
            astream = await an.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            assert [e.type async for e in astream][-1] == "message_stop"

    asyncio.run(main())
    events = events_of(warden, 4)
    assert len(events) == 4
    assert all(e.status == EventStatus.OK and e.usage.output_tokens > 0 for e in events)
    assert {e.model for e in events} == {"gpt-5", "claude-haiku-4-5"}


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_openai_sync_streams_settle_with_reported_usage(
    api: str, fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(input_tokens=500, output_tokens=40, reasoning_tokens=10))
    with openai_client(gateway.openai_base_url) as client:
        if api == "chat":
            list(client.chat.completions.create(model="o3", messages=MESSAGES, stream=True))  # type: ignore[arg-type]
        else:
            list(client.responses.create(model="o3", input="hi", stream=True))
    (event,) = events_of(warden, 1)
    assert (event.usage.input_tokens, event.usage.output_tokens, event.usage.reasoning_tokens) == (
        500,
        40,
        10,
    )
    assert event.cost is not None and event.cost.source == "computed"


def test_database_settlements_run_on_a_worker_thread_and_close_waits_for_them(
    start_gateway: StartGateway, sqlite_url: str
) -> None:
    with Warden(database=sqlite_url) as warden:
        gw = start_gateway(warden)
        assert gw.app.settler.threaded
        with openai_client(gw.openai_base_url) as client:
            for _ in range(20):
                client.chat.completions.create(model="gpt-5", messages=MESSAGES)  # type: ignore[arg-type]
        gw.close()  # the lifespan's shutdown waits for the pending settlements
        events = list(warden.ledger.events())
    assert len(events) == 20 and all(e.status == EventStatus.OK for e in events)


def test_mounted_under_a_path_in_another_asgi_app(
    start_gateway: StartGateway, warden: Warden, fake: FakeProvider
) -> None:
    routing = pytest.importorskip("starlette.routing")
    applications = pytest.importorskip("starlette.applications")

    def mounted(gateway: Gateway) -> object:
        @contextlib.asynccontextmanager
        async def lifespan(app: object) -> AsyncIterator[None]:  # a mounted app gets no lifespan of its own
            await gateway.startup()
            yield
            await gateway.aclose()

        return applications.Starlette(routes=[routing.Mount("/gateway", app=gateway)], lifespan=lifespan)

    from .conftest import UPSTREAM_KEYS, gateway_config

    gw = GatewayThread(warden, gateway_config(fake), environ=UPSTREAM_KEYS, wrap=mounted)
    try:
        with openai_client(f"{gw.base_url}/gateway/v1") as client:
            reply = client.chat.completions.create(model="gpt-5", messages=MESSAGES)  # type: ignore[arg-type]
        assert reply.choices[0].message.content == "Hello from the fake provider."
        assert fake.requests[-1].path == "/v1/chat/completions"
    finally:
        gw.close()
    assert len(events_of(warden, 1)) == 1


def test_an_upstream_cookie_never_reaches_another_client(
    fake: FakeProvider, start_gateway: Callable[..., GatewayThread], warden: Warden
) -> None:
    """The gateway is shared by many clients: a cookie one answer sets must not ride on the next call."""
    by_name = fake.openai_base_url.replace("127.0.0.1", "localhost")  # cookies are kept for names, not IPs
    config = GatewayConfig.model_validate(
        {
            "upstreams": [
                {"name": "openai", "api": "openai", "base_url": by_name, "api_key_env": "TEST_OPENAI_KEY"}
            ]
        }
    )
    gateway = start_gateway(warden, config)
    fake.enqueue(Reply(headers={"set-cookie": "session=client-a-secret; Path=/"}))
    with openai_client(gateway.openai_base_url) as first, openai_client(gateway.openai_base_url) as second:
        first.chat.completions.create(model="gpt-5", messages=MESSAGES)
        second.chat.completions.create(model="gpt-5", messages=MESSAGES)
    assert len(fake.requests) == 2
    assert "cookie" not in fake.requests[1].headers
