"""The real anthropic SDK (sync and async) against the fake provider: 5m/1h cache writes priced exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import anthropic
import pytest

from costwarden.core.usage import CostSource, EventStatus, Usage, UsageEvent
from costwarden.storage.ledger import EventQuery
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

MODEL = "claude-sonnet-4-6"  # $3 input, $0.30 cache read, $3.75 5m write, $6 1h write, $15 output per MTok
MESSAGES = [{"role": "user", "content": "Say hello."}]
CACHED = Reply(
    input_tokens=100,
    cache_read_tokens=1000,
    cache_write_tokens=200,
    cache_write_1h_tokens=300,
    output_tokens=50,
)
USAGE = Usage(
    input_tokens=100,
    cache_read_tokens=1000,
    cache_write_tokens=200,
    cache_write_1h_tokens=300,
    output_tokens=50,
)
COST = Decimal("0.0003") + Decimal("0.0003") + Decimal("0.00075") + Decimal("0.0018") + Decimal("0.00075")


def stored_as(warden: Warden, response_id: str) -> list[UsageEvent]:
    """The events stored for the provider's response id (never their own id: servers reuse them)."""
    return list(warden.ledger.events(EventQuery(where={"provider_response_id": response_id})))


@pytest.fixture
def client(warden: Warden, fake: FakeProvider) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(**fake.client_kwargs("anthropic")) as bare:
        yield warden.wrap(bare, project="support")


def test_message_with_both_cache_write_durations(
    warden: Warden, client: anthropic.Anthropic, fake: FakeProvider
) -> None:
    fake.enqueue(CACHED)
    message = client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, costwarden_user="u1")
    (event,) = warden.ledger.events()
    assert event.provider_response_id == message.id != event.id
    assert event.provider_request_id == message._request_id
    assert (event.provider, event.model) == ("anthropic", MODEL)
    assert event.usage == USAGE  # input_tokens are uncached already: nothing subtracted
    assert event.cost.total == COST == Decimal("0.0039")
    assert (event.attribution.project, event.attribution.user) == ("support", "u1")
    assert event.service_tier == "standard"


def test_raw_stream_and_stream_helper(
    warden: Warden, client: anthropic.Anthropic, fake: FakeProvider
) -> None:
    fake.enqueue(CACHED, CACHED)
    for _ in client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, stream=True):
        pass
    with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello from the fake provider."
    events = list(warden.ledger.events())
    assert len(events) == 2
    assert {e.usage for e in events} == {USAGE}
    assert len(stored_as(warden, final.id)) == 1
    assert sum(e.cost.total for e in events) == 2 * COST


def test_stream_helper_left_early_keeps_the_reported_input(
    warden: Warden, client: anthropic.Anthropic, fake: FakeProvider
) -> None:
    fake.enqueue(CACHED)
    with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    (recorded,) = warden.ledger.events()
    assert recorded.status == EventStatus.CANCELLED
    assert recorded.cost.source == CostSource.ESTIMATED
    # message_start reported the input and cache slices exactly; only the output is estimated
    assert (recorded.usage.input_tokens, recorded.usage.cache_write_1h_tokens) == (100, 300)


def test_stream_helper_never_entered_releases_the_reservation(
    warden: Warden, client: anthropic.Anthropic, fake: FakeProvider
) -> None:
    manager = client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES)
    del manager
    assert list(warden.ledger.events()) == []
    assert fake.requests == []


def test_errors_and_interrupted_streams(
    warden: Warden, client: anthropic.Anthropic, fake: FakeProvider
) -> None:
    fake.enqueue(Reply(error=529))
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)
    fake.enqueue(Reply(interrupt_after=4, chunks=5, text="an answer cut off in the middle"))
    with pytest.raises(Exception) as broken:
        for _ in client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, stream=True):
            pass
    assert "incomplete" in str(broken.value) or "peer closed" in str(broken.value)
    failed, interrupted = sorted(warden.ledger.events(), key=lambda e: e.cost.source)
    assert failed.provider_request_id == caught.value.request_id != failed.id
    assert failed.status == EventStatus.ERROR and failed.usage.total_tokens == 0
    assert interrupted.status == EventStatus.ERROR
    assert interrupted.cost.source == CostSource.ESTIMATED
    assert interrupted.usage.input_tokens > 0


def test_rate_limit_headers(warden: Warden, client: anthropic.Anthropic) -> None:
    client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)
    quota = warden.quotas.latest("anthropic")
    assert quota is not None
    assert quota.windows["requests"].limit == 10000
    assert quota.windows["tokens"].reset_at is not None


async def _async_calls(warden: Warden, fake: FakeProvider) -> None:
    async with anthropic.AsyncAnthropic(**fake.client_kwargs("anthropic")) as bare:
        client = warden.wrap(bare)
        assert isinstance(client, anthropic.AsyncAnthropic)
        fake.enqueue(CACHED, CACHED, CACHED)
        await client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)
        async for _ in await client.messages.create(
            model=MODEL, max_tokens=256, messages=MESSAGES, stream=True
        ):
            pass
        async with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
            async for _ in stream.text_stream:
                pass
        fake.enqueue(Reply(error=400))
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)


def test_async_client(warden: Warden, fake: FakeProvider) -> None:
    asyncio.run(_async_calls(warden, fake))
    events = list(warden.ledger.events())
    ok = [e for e in events if e.status == EventStatus.OK]
    assert len(ok) == 3 and {e.usage for e in ok} == {USAGE}
    assert sum(e.cost.total for e in ok) == 3 * COST
    assert [e.status for e in events if e.status != EventStatus.OK] == [EventStatus.ERROR]
