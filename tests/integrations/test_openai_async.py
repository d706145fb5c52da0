"""The real openai SDK (async) against the fake provider."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
import pytest

from costwarden.core.usage import CostSource, EventStatus
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

MESSAGES = [{"role": "user", "content": "Say hello."}]
CACHED = Reply(input_tokens=1000, cache_read_tokens=2000, output_tokens=500, reasoning_tokens=100)
CACHED_COST = Decimal("0.0065")


async def _calls(warden: Warden, fake: FakeProvider) -> None:
    async with openai.AsyncOpenAI(**fake.client_kwargs("openai")) as bare:
        client = warden.wrap(bare, agent="async-agent")
        assert isinstance(client, openai.AsyncOpenAI)
        fake.enqueue(CACHED, CACHED, CACHED, CACHED)
        await client.chat.completions.create(model="gpt-5", messages=MESSAGES)
        stream = await client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True)
        async for _ in stream:
            pass
        async with client.chat.completions.stream(model="gpt-5", messages=MESSAGES) as helper:
            async for _ in helper:
                pass
        responses = await client.responses.create(model="gpt-5", input="hi", stream=True)
        async for _ in responses:
            pass
        fake.enqueue(Reply(error=500))
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="gpt-5", messages=MESSAGES)
        fake.enqueue(Reply(interrupt_after=3))
        with pytest.raises(openai.APIConnectionError):
            async for _ in await client.chat.completions.create(
                model="gpt-5", messages=MESSAGES, stream=True
            ):
                pass


def test_async_client_records_every_call(warden: Warden, fake: FakeProvider) -> None:
    asyncio.run(_calls(warden, fake))
    events = list(warden.ledger.events())
    ok = [e for e in events if e.status == EventStatus.OK]
    assert len(ok) == 4
    assert sum(e.cost.total for e in ok) == 4 * CACHED_COST
    assert {e.attribution.agent for e in events} == {"async-agent"}
    failed = [e for e in events if e.status == EventStatus.ERROR]
    assert len(failed) == 2
    assert sorted(e.cost.source for e in failed) == [CostSource.COMPUTED, CostSource.ESTIMATED]


async def _abandon(warden: Warden, fake: FakeProvider) -> None:
    async with openai.AsyncOpenAI(**fake.client_kwargs("openai")) as bare:
        client = warden.wrap(bare)
        stream = await client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True)
        await stream.__anext__()
        await stream.close()


def test_async_stream_closed_early(warden: Warden, fake: FakeProvider) -> None:
    asyncio.run(_abandon(warden, fake))
    (event,) = warden.ledger.events()
    assert event.status == EventStatus.CANCELLED
    assert event.cost.source == CostSource.ESTIMATED
