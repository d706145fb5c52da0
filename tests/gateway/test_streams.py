"""Streams pass through as they arrive: a client that hangs up cancels the upstream request and the call
is settled as cancelled with what was used; a stream the upstream cuts off is settled as an error."""

from __future__ import annotations

import time

import anthropic
import httpx2
import openai
import pytest

from costwarden.core.usage import EventStatus
from costwarden.gateway.server import GatewayThread
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

from .conftest import events_of

MESSAGES = [{"role": "user", "content": "Tell me a long story."}]


def test_first_chunk_arrives_before_the_stream_ends(fake: FakeProvider, gateway: GatewayThread) -> None:
    fake.enqueue(Reply(), Reply(text="x" * 40, chunks=4, chunk_delay=0.3))
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key="k", max_retries=0) as client:
        client.chat.completions.create(model="gpt-5", messages=MESSAGES)  # type: ignore[arg-type]
        started = time.monotonic()
        stream = client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        first = next(iter(stream))
        first_at = time.monotonic() - started
        rest = list(stream)
        total = time.monotonic() - started
    assert first.choices[0].delta.role == "assistant"
    assert len(rest) == 5  # four pieces and the final chunk; the usage chunk stays hidden
    assert first_at < 0.25 < total  # nothing is buffered: the first chunk did not wait for the rest


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_client_disconnect_cancels_upstream_and_settles_cancelled(
    api: str, fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(text="y" * 400, input_tokens=800, chunks=40, chunk_delay=0.05))
    started = time.monotonic()
    if api == "openai":
        with openai.OpenAI(base_url=gateway.openai_base_url, api_key="k", max_retries=0) as client:
            stream = client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
            iterator = iter(stream)
            for _ in range(4):
                next(iterator)
            stream.close()
    else:
        with anthropic.Anthropic(base_url=gateway.base_url, api_key="k", max_retries=0) as a_client:
            a_stream = a_client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1000,
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            a_iterator = iter(a_stream)
            for _ in range(6):
                next(a_iterator)
            a_stream.close()
    (event,) = events_of(warden, 1)
    settled_after = time.monotonic() - started
    assert settled_after < 1.5  # the whole stream would take 2 s: the gateway did not read it to the end
    assert event.status == EventStatus.CANCELLED
    assert event.cost is not None and event.cost.source == "estimated"
    assert 0 < event.usage.output_tokens < 100  # what was generated so far, not the whole story
    if api == "anthropic":
        assert event.usage.input_tokens == 800  # reported in message_start
    assert event.provider_request_id is not None


def test_upstream_cut_off_is_settled_as_an_error(
    fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    fake.enqueue(Reply(chunks=6, interrupt_after=3))
    with (
        openai.OpenAI(base_url=gateway.openai_base_url, api_key="k", max_retries=0) as client,
        pytest.raises((openai.APIError, httpx2.HTTPError)),
    ):
        list(client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True))  # type: ignore[arg-type]
    (event,) = events_of(warden, 1)
    assert event.status == EventStatus.ERROR
    assert event.usage.output_tokens > 0


def test_count_tokens_is_forwarded_without_an_event(
    fake: FakeProvider, gateway: GatewayThread, warden: Warden
) -> None:
    with anthropic.Anthropic(base_url=gateway.base_url, api_key="k", max_retries=0) as client:
        counted = client.messages.count_tokens(model="claude-sonnet-4-5", messages=MESSAGES)  # type: ignore[arg-type]
    assert counted.input_tokens > 0
    assert fake.requests[-1].path == "/v1/messages/count_tokens"
    time.sleep(0.05)
    assert list(warden.ledger.events()) == []
