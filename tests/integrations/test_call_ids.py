"""One call, one event: wrapped calls get their own event ids; the provider's response and request ids are
kept beside them (servers reuse response ids: Ollama draws them from 999 values)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anthropic
import openai
import pytest

from costwarden.budgets import BudgetEngine
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.usage import Usage
from costwarden.storage.ledger import EventQuery
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider
from costwarden.warden import Warden

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def ollama_like() -> Iterator[FakeProvider]:
    with FakeProvider(response_ids=999) as server:  # `chatcmpl-%d`, rand.Intn(999), as Ollama does
        yield server


def test_300_wrapped_calls_are_300_events_and_the_budget_sees_them_all(
    tmp_path: Path, ollama_like: FakeProvider
) -> None:
    settings = settings_from_mapping({"budgets": [{"id": "all", "period": "total", "cost_usd": 1000}]})
    with (
        Warden(settings, database=f"sqlite:///{tmp_path / 'ledger.db'}") as warden,
        openai.OpenAI(**ollama_like.client_kwargs("openai")) as bare,
    ):
        client = warden.wrap(bare, project="p")
        responses = [
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=20)
            for _ in range(300)
        ]
        assert len({r.id for r in responses}) < 300  # the server did reuse ids
        events = list(warden.ledger.events())
        assert len(events) == 300
        assert len({e.id for e in events}) == 300
        assert sorted(e.provider_response_id or "" for e in events) == sorted(r.id for r in responses)
        request_ids = {e.provider_request_id for e in events}
        assert len(request_ids) == 300 and all(i and i.startswith("req_") for i in request_ids)
        engine = warden.budgets
        assert isinstance(engine, BudgetEngine)
        spent = sum(s.spent.cost for s in engine.store.counters("all").values())
        assert spent == sum(int(e.cost_total * 10**10) for e in events) > 0
        assert warden.ledger.totals()[0].events == 300


def test_two_providers_returning_the_same_id_are_two_events() -> None:
    with (
        FakeProvider(response_ids=1) as one,
        FakeProvider(response_ids=1) as other,
        Warden(ledger=MemoryLedger()) as warden,
        openai.OpenAI(**one.client_kwargs("openai")) as first,
        openai.OpenAI(**other.client_kwargs("openai")) as second,
    ):
        a = warden.wrap(first).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        b = warden.wrap(second, provider="together").chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES
        )
        assert a.id == b.id == "chatcmpl-0"
        events = list(warden.ledger.events())
        assert len(events) == 2
        assert {e.provider_response_id for e in events} == {"chatcmpl-0"}
        found = list(warden.ledger.events(EventQuery(where={"provider_response_id": "chatcmpl-0"})))
        assert len(found) == 2


def test_streams_and_anthropic_calls_get_their_own_ids_too(ollama_like: FakeProvider) -> None:
    with (
        FakeProvider(response_ids=1) as server,
        Warden(ledger=MemoryLedger()) as warden,
        openai.OpenAI(**server.client_kwargs("openai")) as bare_openai,
        anthropic.Anthropic(**server.client_kwargs("anthropic")) as bare_anthropic,
    ):
        client = warden.wrap(bare_openai)
        for _ in range(3):
            stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
            for _chunk in stream:
                pass
        claude = warden.wrap(bare_anthropic)
        for _ in range(3):
            claude.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES)
        events = list(warden.ledger.events())
        assert len(events) == 6
        assert sorted(e.provider_response_id or "" for e in events) == ["chatcmpl-0"] * 3 + ["msg_0"] * 3
        assert all(e.provider_request_id for e in events)


def test_replays_of_the_same_call_stay_one_event(ollama_like: FakeProvider) -> None:
    with (
        Warden(ledger=MemoryLedger()) as warden,
        openai.OpenAI(**ollama_like.client_kwargs("openai")) as bare,
    ):
        client = warden.wrap(bare)
        for _ in range(2):  # an explicit idempotency key
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, costwarden_event_id="k1")
        assert [e.id for e in warden.ledger.events()] == ["k1"]
        # a retried settle of the same admission
        admission = warden.admit(CallRequest(provider="openai", model="gpt-4o-mini", input_tokens=10))
        first = warden.settle(
            admission, Usage(input_tokens=10, output_tokens=5), provider_response_id="chatcmpl-7"
        )
        again = warden.settle(
            admission, Usage(input_tokens=10, output_tokens=5), provider_response_id="chatcmpl-7"
        )
        assert first.id == again.id == admission.request.request_id
        assert first.provider_response_id == "chatcmpl-7"
        assert len(list(warden.ledger.events())) == 2
        assert sum(e.cost_total for e in warden.ledger.events()) > Decimal(0)
