"""A client speaking one wire format, an upstream speaking the other (an alias or a budget fallback): the
gateway translates requests, answers, streams and errors between Anthropic messages and OpenAI chat
completions, and settles the call with the upstream's usage."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import anthropic
import openai
import pytest

from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.core.usage import EventStatus
from costwarden.gateway.server import GatewayThread
from costwarden.gateway.translate import AnthropicToChat, ChatToAnthropic
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

from .conftest import events_of

StartGateway = Callable[..., GatewayThread]
MESSAGES = [{"role": "user", "content": "hi"}]
HELLO = "Hello from the fake provider."


def _upstreams(fake: FakeProvider) -> list[dict[str, object]]:
    return [
        {"name": "anthropic", "api": "anthropic", "base_url": fake.base_url, "models": ["claude-sonnet-4-5"]},
        {"name": "ollama", "api": "openai", "base_url": fake.openai_base_url, "models": ["llama3.1"]},
    ]


@pytest.fixture
def mixed(start_gateway: StartGateway, warden: Warden, fake: FakeProvider) -> GatewayThread:
    return start_gateway(warden, upstreams=_upstreams(fake), aliases={"local": "ollama/llama3.1"})


def test_anthropic_client_to_an_openai_upstream(
    fake: FakeProvider, mixed: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(input_tokens=40, output_tokens=9), Reply(input_tokens=40, output_tokens=9, chunks=4))
    with anthropic.Anthropic(base_url=mixed.base_url, api_key="k", max_retries=0) as client:
        message = client.messages.create(
            model="local",
            max_tokens=300,
            system="Be brief.",
            messages=MESSAGES,  # type: ignore[arg-type]
            extra_body={"temperature": 0.2},
        )
        with client.messages.stream(model="local", max_tokens=300, messages=MESSAGES) as stream:  # type: ignore[arg-type]
            texts = list(stream.text_stream)
            final = stream.get_final_message()
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body == {
        "model": "llama3.1",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "max_tokens": 300,
        "temperature": 0.2,
    }
    assert message.content[0].text == HELLO  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (40, 9)
    assert message.stop_reason == "end_turn"
    assert fake.requests[1].body["stream_options"] == {"include_usage": True}
    assert "".join(texts) == HELLO and len(texts) == 4
    assert final.usage.output_tokens == 9 and final.stop_reason == "end_turn"
    events = events_of(warden, 2)
    assert [(e.provider, e.model, e.usage.output_tokens) for e in events] == [("ollama", "llama3.1", 9)] * 2


def test_openai_client_to_an_anthropic_upstream(
    start_gateway: StartGateway, warden: Warden, fake: FakeProvider
) -> None:
    gw = start_gateway(warden, upstreams=_upstreams(fake), aliases={"sonnet": "anthropic/claude-sonnet-4-5"})
    fake.enqueue(
        Reply(input_tokens=30, cache_read_tokens=10, output_tokens=7), Reply(output_tokens=7, chunks=3)
    )
    with openai.OpenAI(base_url=gw.openai_base_url, api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="sonnet",
            messages=[{"role": "system", "content": "Be brief."}, *MESSAGES],  # type: ignore[list-item]
            stop="END",
        )
        chunks = list(
            client.chat.completions.create(
                model="sonnet",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
                max_completion_tokens=50,
            )
        )
    sent = fake.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,  # the request set none: estimation.default_max_tokens, as admitted
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "system": "Be brief.",
        "stop_sequences": ["END"],
    }
    assert reply.choices[0].message.content == HELLO
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (40, 7)
    assert fake.requests[1].body["max_tokens"] == 50
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == HELLO
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
    events = events_of(warden, 2)
    assert [(e.provider, e.model) for e in events] == [("anthropic", "claude-sonnet-4-5")] * 2
    assert events[0].usage.cache_read_tokens == 10 and events[0].usage.input_tokens == 30


def test_upstream_errors_keep_status_and_message_in_the_clients_shape(
    fake: FakeProvider, mixed: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(error=429, error_message="slow down"))
    with (
        anthropic.Anthropic(base_url=mixed.base_url, api_key="k", max_retries=0) as client,
        pytest.raises(anthropic.RateLimitError, match="slow down") as caught,
    ):
        client.messages.create(model="local", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    (event,) = events_of(warden, 1)
    assert event.status == EventStatus.ERROR


def test_fallback_from_anthropic_to_a_local_openai_server(
    start_gateway: StartGateway, fake: FakeProvider
) -> None:
    settings = settings_from_mapping(
        {
            "providers": [
                {
                    "name": "anthropic",
                    "models": ["claude-sonnet-4-5"],
                    "capabilities": ["streaming", "tool_calls"],
                },
                {"name": "ollama", "kind": "local", "models": ["llama3.1"], "capabilities": ["streaming"]},
            ],
            "budgets": [
                {
                    "id": "cloud",
                    "name": "Cloud",
                    "period": "day",
                    "cost_usd": "0.001",
                    "where": {"provider": ["anthropic"]},
                    "action": "fallback",
                    "fallback": ["local"],
                }
            ],
        }
    )
    clock = FixedClock(datetime(2026, 3, 14, 12, tzinfo=UTC))
    with Warden(settings, ledger=MemoryLedger(), clock=clock) as warden:
        gw = start_gateway(warden, upstreams=_upstreams(fake))
        with anthropic.Anthropic(base_url=gw.base_url, api_key="k", max_retries=0) as client:
            message = client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=8000,
                messages=MESSAGES,  # type: ignore[arg-type]
            )
        assert message.content[0].text == HELLO  # type: ignore[union-attr]
        assert fake.requests[-1].path == "/v1/chat/completions"
        assert fake.requests[-1].body["model"] == "llama3.1"
        (event,) = events_of(warden, 1)
        assert (event.provider, event.model) == ("ollama", "llama3.1")


def test_tools_translate_both_ways() -> None:
    anthropic_request = {
        "model": "m",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Use tools."}],
        "tools": [{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "weather"},
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "4 C"}]},
        ],
    }
    chat = AnthropicToChat().request(anthropic_request, "gpt-5-mini")
    assert chat["messages"] == [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "4 C"},
    ]
    assert chat["tools"][0]["function"]["parameters"] == {"type": "object"}
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    # and back: the chat request becomes the Anthropic one again
    back = ChatToAnthropic().request(chat, "m")
    assert back["system"] == "Use tools."
    assert back["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}}],
    }
    assert back["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "t1", "content": "4 C"}]
    assert back["tool_choice"] == {"type": "tool", "name": "weather"}
    # a tool call in a chat answer becomes a tool_use block, and the stop reason follows
    answer = {
        "id": "c1",
        "model": "gpt-5-mini",
        "choices": [
            {
                "message": {
                    "content": None,
                    "tool_calls": [
                        {"id": "t2", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5},
    }
    message = AnthropicToChat().response(answer)
    assert message["content"] == [
        {"type": "tool_use", "id": "t2", "name": "weather", "input": {"city": "Rome"}}
    ]
    assert message["stop_reason"] == "tool_use"
    # streamed tool calls: a tool_use block with its JSON in pieces
    stream = AnthropicToChat().stream({})
    out = stream.feed(
        {
            "id": "c",
            "model": "m",
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "t3", "function": {"name": "weather", "arguments": '{"ci'}}
                        ]
                    }
                }
            ],
        }
    )
    out += stream.feed(
        {
            "id": "c",
            "choices": [
                {
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"Rome"}'}}]},
                    "finish_reason": "tool_calls",
                }
            ],
        }
    )
    out += stream.finish()
    events = [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: ")]
    kinds = [e["type"] for e in events]
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[1]["content_block"] == {"type": "tool_use", "id": "t3", "name": "weather", "input": {}}
    assert "".join(e["delta"]["partial_json"] for e in events[2:4]) == '{"city":"Rome"}'
    assert events[5]["delta"]["stop_reason"] == "tool_use"


def test_count_tokens_for_a_model_of_an_openai_upstream_is_estimated(
    fake: FakeProvider, mixed: GatewayThread, warden: Warden
) -> None:
    with anthropic.Anthropic(base_url=mixed.base_url, api_key="k", max_retries=0) as client:
        counted = client.messages.count_tokens(model="local", messages=MESSAGES)  # type: ignore[arg-type]
    assert counted.input_tokens == warden.estimator.estimate("llama3.1", {"messages": MESSAGES}).tokens
    assert fake.served == 0
