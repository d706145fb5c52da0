"""A fallback decision is honoured: the model is switched, or the call goes to another provider's client."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import openai

from costwarden.core.calls import Admission, CallRequest, Decision
from costwarden.core.usage import UsageEvent
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider
from costwarden.warden import Warden

MESSAGES = [{"role": "user", "content": "hi"}]


class FallBackToFirst:
    """A budget engine stand-in: always switches to the first fallback the call allows."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.requests: list[CallRequest] = []
        self.settled: list[UsageEvent] = []
        self.released = 0

    def admit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        self.requests.append(request)
        if not request.fallbacks or not request.allow_fallback:
            return Admission(request=request, provider=request.provider, model=request.model)
        provider, model = request.fallbacks[0]
        return Admission(request=request, provider=provider, model=model, decision=Decision.FALLBACK)

    def settle(self, admission: Admission, event: UsageEvent) -> None:
        self.ledger.append(event)
        self.settled.append(event)

    def release(self, admission: Admission) -> None:
        self.released += 1

    def recorded(self, events: Sequence[UsageEvent]) -> None:
        self.ledger.append_many(events)

    def close(self) -> None:
        pass


def test_same_provider_fallback_switches_the_model(fake: FakeProvider) -> None:
    ledger = MemoryLedger()
    budgets = FallBackToFirst(ledger)
    with (
        Warden(ledger=ledger, budgets=budgets) as warden,
        openai.OpenAI(**fake.client_kwargs("openai")) as bare,
    ):
        client = warden.wrap(bare, fallbacks=["gpt-5-mini"])
        client.chat.completions.create(model="gpt-5", messages=MESSAGES, max_completion_tokens=64)
        assert fake.requests[-1].body["model"] == "gpt-5-mini"
        (event,) = ledger.events()
        assert (event.provider, event.model) == ("openai", "gpt-5-mini")
        request = budgets.requests[0]
        assert request.fallbacks == (("openai", "gpt-5-mini"),)
        assert request.max_tokens == 64 and request.input_tokens > 0

        client.chat.completions.create(model="gpt-5", messages=MESSAGES, costwarden_allow_fallback=False)
        assert fake.requests[-1].body["model"] == "gpt-5"


def test_other_provider_fallback_uses_the_given_client(fake: FakeProvider) -> None:
    ledger = MemoryLedger()
    budgets = FallBackToFirst(ledger)
    with (
        Warden(ledger=ledger, budgets=budgets) as warden,
        openai.OpenAI(**fake.client_kwargs("openai")) as primary,
        openai.OpenAI(**fake.client_kwargs("openai")) as backup,
    ):
        client = warden.wrap(primary, clients={"openrouter": backup})
        client.chat.completions.create(
            model="gpt-5",
            messages=MESSAGES,
            costwarden_fallbacks=[("anthropic", "claude-haiku-4-5"), ("openrouter", "openai/gpt-5-mini")],
        )
        # the Anthropic pair has no client here, so it was never offered
        assert budgets.requests[0].fallbacks == (("openrouter", "openai/gpt-5-mini"),)
        assert fake.requests[-1].body["model"] == "openai/gpt-5-mini"
        (event,) = ledger.events()
        assert (event.provider, event.model) == ("openrouter", "openai/gpt-5-mini")


def test_capabilities_are_derived_from_the_call(fake: FakeProvider) -> None:
    ledger = MemoryLedger()
    budgets = FallBackToFirst(ledger)
    with (
        Warden(ledger=ledger, budgets=budgets) as warden,
        openai.OpenAI(**fake.client_kwargs("openai")) as bare,
    ):
        client = warden.wrap(bare, capabilities=["long_context"])
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
        tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        stream = client.chat.completions.create(
            model="gpt-5",
            messages=[{"role": "user", "content": [{"type": "text", "text": "what is this?"}, image]}],
            tools=[tool],
            response_format={"type": "json_object"},
            reasoning_effort="low",
            stream=True,
        )
        for _ in stream:
            pass
        caps = budgets.requests[0].capabilities
        assert caps == {"streaming", "tool_calls", "json_mode", "vision", "reasoning", "long_context"}
