"""An OpenAI Responses API client, an Anthropic upstream (an alias or a budget fallback): the real OpenAI
SDK's `responses.create` (plain and streamed, sync and async) and `responses.stream` through the gateway to
the fake provider's Messages endpoint; tools and tool results both ways; what cannot be carried is refused
with 400 naming the field, its reservation given back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import openai
import pytest

from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.gateway.server import GatewayThread
from costwarden.gateway.translate_responses import ResponsesToAnthropic
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

from .conftest import events_of

StartGateway = Callable[..., GatewayThread]
HELLO = "Hello from the fake provider."


def _upstreams(fake: FakeProvider) -> list[dict[str, object]]:
    return [
        {"name": "openai", "api": "openai", "base_url": fake.openai_base_url, "models": ["gpt-5"]},
        {"name": "anthropic", "api": "anthropic", "base_url": fake.base_url, "models": ["claude-sonnet-4-5"]},
    ]


@pytest.fixture
def gateway(start_gateway: StartGateway, warden: Warden, fake: FakeProvider) -> GatewayThread:
    return start_gateway(
        warden, upstreams=_upstreams(fake), aliases={"sonnet": "anthropic/claude-sonnet-4-5"}
    )


def _client(gw: GatewayThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.openai_base_url, api_key="k", max_retries=0)


def test_a_plain_response_from_an_anthropic_upstream(
    fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(input_tokens=30, cache_read_tokens=10, output_tokens=7))
    with _client(gateway) as client:
        response = client.responses.create(
            model="sonnet", instructions="Be brief.", input="hi", max_output_tokens=50, temperature=0.3
        )
    sent = fake.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "system": "Be brief.",
        "temperature": 0.3,
    }
    assert response.output_text == HELLO
    assert response.status == "completed" and response.object == "response"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 7)
    assert response.usage.input_tokens_details.cached_tokens == 10
    (event,) = events_of(warden, 1)
    assert (event.provider, event.model, event.usage.input_tokens, event.usage.output_tokens) == (
        "anthropic",
        "claude-sonnet-4-5",
        30,
        7,
    )
    assert event.usage.cache_read_tokens == 10 and event.provider_response_id is not None


def test_a_streamed_response_event_by_event(
    fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(input_tokens=12, output_tokens=9, chunks=4), Reply(output_tokens=9, chunks=2))
    with _client(gateway) as client:
        events = list(client.responses.create(model="sonnet", input="hi", stream=True))
        with client.responses.stream(model="sonnet", input=[{"role": "user", "content": "hi"}]) as stream:
            final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert kinds.count("response.output_text.delta") == 4
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]  # type: ignore[union-attr]
    assert "".join(deltas) == HELLO
    completed = events[-1].response  # type: ignore[union-attr]
    assert completed.output_text == HELLO and completed.usage is not None
    assert (completed.usage.input_tokens, completed.usage.output_tokens) == (12, 9)
    assert final.output_text == HELLO and final.status == "completed"
    assert fake.requests[0].body["stream"] is True
    recorded = events_of(warden, 2)
    assert [(e.provider, e.usage.output_tokens) for e in recorded] == [("anthropic", 9)] * 2


def test_async_stream(fake: FakeProvider, gateway: GatewayThread, warden: Warden) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=gateway.openai_base_url, api_key="k", max_retries=0) as client:
            stream = await client.responses.create(model="sonnet", input="hi", stream=True)
            return "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])

    assert asyncio.run(run()) == HELLO
    assert len(events_of(warden, 1)) == 1


def test_a_budget_fallback_from_openai_to_anthropic_is_translated(
    start_gateway: StartGateway, fake: FakeProvider
) -> None:
    settings = settings_from_mapping(
        {
            "providers": [
                {"name": "openai", "models": ["gpt-5"], "capabilities": ["streaming"]},
                {"name": "anthropic", "models": ["claude-sonnet-4-5"], "capabilities": ["streaming"]},
            ],
            "budgets": [
                {
                    "id": "openai",
                    "period": "day",
                    "cost_usd": "0.0001",
                    "where": {"provider": ["openai"]},
                    "action": "fallback",
                    "fallback": ["anthropic/claude-sonnet-4-5"],
                }
            ],
        }
    )
    clock = FixedClock(datetime(2026, 3, 14, 12, tzinfo=UTC))
    with Warden(settings, ledger=MemoryLedger(), clock=clock) as warden:
        gw = start_gateway(warden, upstreams=_upstreams(fake))
        with _client(gw) as client:
            response = client.responses.create(model="gpt-5", input="hi", max_output_tokens=2000)
            streamed = [
                e.delta  # type: ignore[union-attr]
                for e in client.responses.create(
                    model="gpt-5", input="hi", max_output_tokens=2000, stream=True
                )
                if e.type == "response.output_text.delta"
            ]
        assert response.output_text == HELLO and "".join(streamed) == HELLO
        assert [r.path for r in fake.requests] == ["/v1/messages"] * 2
        assert fake.requests[0].body["model"] == "claude-sonnet-4-5"
        assert fake.requests[0].body["max_tokens"] == 2000
        events = events_of(warden, 2)
        assert [(e.provider, e.model) for e in events] == [("anthropic", "claude-sonnet-4-5")] * 2


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"text": {"format": {"type": "json_object"}}}, "text.format"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
    ],
)
def test_what_an_anthropic_upstream_cannot_carry_is_refused_naming_the_field(
    start_gateway: StartGateway, fake: FakeProvider, extra: dict[str, Any], field: str
) -> None:
    # room for one call's worst case (4,000 output tokens of claude-sonnet-4-5), not for two
    settings = settings_from_mapping({"budgets": [{"id": "day", "period": "day", "cost_usd": "0.1"}]})
    clock = FixedClock(datetime(2026, 3, 14, 12, tzinfo=UTC))
    with Warden(settings, ledger=MemoryLedger(), clock=clock) as warden:
        gw = start_gateway(
            warden, upstreams=_upstreams(fake), aliases={"sonnet": "anthropic/claude-sonnet-4-5"}
        )
        with _client(gw) as client:
            for _ in range(2):
                with pytest.raises(openai.BadRequestError) as caught:
                    client.responses.create(
                        **{"model": "sonnet", "input": "hi", "max_output_tokens": 4000, **extra}
                    )
                message = caught.value.body["message"]  # type: ignore[index]
                assert message.startswith(f"{field}: ") and "upstream 'anthropic'" in message
            assert fake.served == 0
            # the refused calls' reservations were given back: this one fits
            response = client.responses.create(model="sonnet", input="hi", max_output_tokens=4000)
        assert response.output_text == HELLO
        assert len(events_of(warden, 1)) == 1


def test_upstream_errors_keep_status_and_message(fake: FakeProvider, gateway: GatewayThread) -> None:
    fake.enqueue(Reply(error=429, error_message="slow down"))
    with _client(gateway) as client, pytest.raises(openai.RateLimitError, match="slow down"):
        client.responses.create(model="sonnet", input="hi")


def test_tools_and_tool_results_both_ways() -> None:
    payload = {
        "instructions": "Use tools.",
        "input": [
            {"role": "developer", "content": "Answer in Celsius."},
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "call_id": "t1", "name": "weather", "arguments": '{"city":"Oslo"}'},
            {"type": "function_call_output", "call_id": "t1", "output": "4 C"},
            {"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
        ],
        "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}, "strict": True}],
        "tool_choice": {"type": "function", "name": "weather"},
        "max_output_tokens": 300,
    }
    translation = ResponsesToAnthropic()
    request = translation.request(payload, "claude-sonnet-4-5")
    assert request["system"] == "Use tools.\n\nAnswer in Celsius."
    assert request["max_tokens"] == 300
    assert request["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "4 C"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            ],
        },
    ]
    assert request["tools"] == [{"name": "weather", "description": "", "input_schema": {"type": "object"}}]
    assert request["tool_choice"] == {"type": "tool", "name": "weather"}
    # a tool_use block in the answer is a function_call item; max_tokens makes the response incomplete
    answer = {
        "id": "msg_9",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "t2", "name": "weather", "input": {"city": "Rome"}},
        ],
        "stop_reason": "max_tokens",
        "usage": {"input_tokens": 20, "output_tokens": 5},
    }
    response = translation.response(answer)
    assert [item["type"] for item in response["output"]] == ["message", "function_call"]
    assert response["output"][1] == {
        "id": "fc_t2",
        "type": "function_call",
        "status": "completed",
        "call_id": "t2",
        "name": "weather",
        "arguments": '{"city":"Rome"}',
    }
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["usage"]["total_tokens"] == 25
    # streamed: the call's arguments arrive in pieces, and the completed response holds the call
    stream = translation.stream(payload)
    out = stream.feed(
        {"type": "message_start", "message": {"id": "msg_3", "model": "m", "usage": {"input_tokens": 9}}}
    )
    out += stream.feed(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t3", "name": "weather", "input": {}},
        }
    )
    for piece in ('{"ci', 'ty":"Rome"}'):
        out += stream.feed(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
        )
    out += stream.feed({"type": "content_block_stop", "index": 0})
    out += stream.feed(
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 6}}
    )
    out += stream.finish()
    events = [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[5]["arguments"] == '{"city":"Rome"}'
    completed = events[-1]["response"]
    assert completed["output"] == [
        {
            "id": "fc_t3",
            "type": "function_call",
            "status": "completed",
            "call_id": "t3",
            "name": "weather",
            "arguments": '{"city":"Rome"}',
        }
    ]
    assert completed["usage"]["input_tokens"] == 9 and completed["usage"]["output_tokens"] == 6
