"""The LiteLLM callback, fed callback arguments captured from LiteLLM itself (litellm_payloads.json:
`kwargs` and `response_obj` as LiteLLM passed them to a CustomLogger, calls made against the fake
provider), and, when LiteLLM is installed, driven by LiteLLM end to end."""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costwarden.core.usage import EventStatus, Usage
from costwarden.integrations.litellm import CostwardenLogger, litellm_usage
from costwarden.ledger import MemoryLedger
from costwarden.warden import Warden

PAYLOADS: dict[str, dict[str, Any]] = {
    p["name"]: p for p in json.loads((Path(__file__).parent / "litellm_payloads.json").read_text())
}


def feed(logger: CostwardenLogger, name: str, *, asynchronous: bool = False) -> None:
    payload = PAYLOADS[name]
    kwargs, response = payload["kwargs"], payload["response_obj"]
    slo = kwargs["standard_logging_object"]
    hook = "success" if payload["hook"] == "success" else "failure"
    if asynchronous:
        method = getattr(logger, f"async_log_{hook}_event")
        asyncio.run(method(kwargs, response, slo["startTime"], slo["endTime"]))
    else:
        getattr(logger, f"log_{hook}_event")(kwargs, response, slo["startTime"], slo["endTime"])


def test_openai_call_with_cached_and_reasoning_tokens() -> None:
    ledger = MemoryLedger()
    logger = CostwardenLogger(Warden(ledger=ledger))
    feed(logger, "openai_cached_reasoning")
    (event,) = ledger.events()
    slo = PAYLOADS["openai_cached_reasoning"]["kwargs"]["standard_logging_object"]
    assert event.id == f"litellm:{slo['litellm_call_id']}"
    assert (
        event.provider_response_id == PAYLOADS["openai_cached_reasoning"]["response_obj"]["id"] == slo["id"]
    )
    assert event.provider_request_id == "req_13b400000001c657d3bf"
    assert (event.provider, event.model) == ("openai", "gpt-5")
    assert event.usage == Usage(
        input_tokens=1000, cache_read_tokens=2000, output_tokens=500, reasoning_tokens=100
    )
    assert event.cost.total == Decimal("0.0065")  # LiteLLM's own float says 0.006500000000000001
    assert event.attribution.tags["litellm_cost"] == "0.006500000000000001"
    assert (event.attribution.project, event.attribution.agent) == ("shop", "a1")
    quota = logger.warden.quotas.latest("openai")
    assert quota is not None and quota.windows["requests"].limit == 10000


@pytest.mark.parametrize("name", ["anthropic_cache_writes", "anthropic_stream"])
def test_anthropic_cache_writes_are_not_counted_twice(name: str) -> None:
    ledger = MemoryLedger()
    feed(CostwardenLogger(Warden(ledger=ledger)), name, asynchronous=name.endswith("stream"))
    (event,) = ledger.events()
    # LiteLLM's prompt_tokens (1600) include the 1000 cache reads and 500 cache writes
    assert event.usage == Usage(
        input_tokens=100,
        cache_read_tokens=1000,
        cache_write_tokens=200,
        cache_write_1h_tokens=300,
        output_tokens=50,
    )
    assert (event.provider, event.model) == ("anthropic", "claude-sonnet-4-6")
    assert event.cost.total == Decimal("0.0039")


def test_failure_is_recorded_as_an_error() -> None:
    ledger = MemoryLedger()
    feed(CostwardenLogger(Warden(ledger=ledger)), "openai_failure", asynchronous=True)
    (event,) = ledger.events()
    assert event.status == EventStatus.ERROR
    assert event.usage.total_tokens == 0


def test_the_same_call_logged_twice_is_one_event() -> None:
    ledger = MemoryLedger()
    logger = CostwardenLogger(Warden(ledger=ledger))
    feed(logger, "openai_cached_reasoning")
    feed(logger, "openai_cached_reasoning", asynchronous=True)
    assert len(list(ledger.events())) == 1


def test_usage_from_an_older_litellm_that_left_cache_tokens_out_of_the_prompt() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 5,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 500,
    }
    assert litellm_usage(usage) == Usage(
        input_tokens=100, cache_read_tokens=1000, cache_write_tokens=500, output_tokens=5
    )


def test_proxy_pre_call_hook_admits_and_the_success_hook_settles() -> None:
    from costwarden.core.calls import Admission, CallRequest, Decision
    from costwarden.core.controller import NullBudgets

    class Switch(NullBudgets):
        """A controller that sends every call to a cheaper model (the rest as without budgets)."""

        def __init__(self) -> None:
            super().__init__(ledger)
            self.admitted: list[CallRequest] = []

        def admit(self, request: CallRequest, worst_case: Decimal) -> Admission:
            self.admitted.append(request)
            return Admission(
                request=request, provider="openai", model="gpt-5-mini", decision=Decision.FALLBACK
            )

    ledger = MemoryLedger()
    budgets = Switch()
    logger = CostwardenLogger(Warden(ledger=ledger, budgets=budgets))
    payload = PAYLOADS["openai_cached_reasoning"]
    call_id = payload["kwargs"]["litellm_call_id"]
    data = {
        "model": "gpt-5",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 300,
        "litellm_call_id": call_id,
        "metadata": {"costwarden_fallbacks": ["gpt-5-mini"]},
    }
    out = asyncio.run(logger.async_pre_call_hook(None, None, data, "completion"))
    assert out["model"] == "gpt-5-mini"
    (request,) = budgets.admitted
    assert request.max_tokens == 300 and request.fallbacks == (("openai", "gpt-5-mini"),)
    feed(logger, "openai_cached_reasoning", asynchronous=True)
    (event,) = ledger.events()
    assert event.source == "proxy"
    assert event.id == f"litellm:{payload['kwargs']['litellm_call_id']}"


@pytest.mark.skipif(importlib.util.find_spec("litellm") is None, reason="LiteLLM is not installed")
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")  # raised inside LiteLLM
def test_against_litellm_itself() -> None:  # pragma: no cover - needs the optional extra
    import litellm

    from costwarden.testing import FakeProvider, Reply

    ledger = MemoryLedger()
    logger = CostwardenLogger(Warden(ledger=ledger))
    litellm.callbacks = [logger]
    try:
        with FakeProvider() as fake:
            fake.enqueue(
                Reply(
                    input_tokens=100,
                    cache_read_tokens=1000,
                    cache_write_tokens=200,
                    cache_write_1h_tokens=300,
                    output_tokens=50,
                )
            )
            litellm.completion(
                model="anthropic/claude-sonnet-4-6",
                messages=[{"role": "user", "content": "hi"}],
                api_base=fake.anthropic_base_url,
                api_key="k",
                max_tokens=100,
            )
            for _ in range(100):
                if list(ledger.events()):
                    break
                import time

                time.sleep(0.05)
    finally:
        litellm.callbacks = []
    (event,) = ledger.events()
    assert event.cost.total == Decimal("0.0039")


def test_calls_with_the_same_response_id_are_separate_events() -> None:
    ledger = MemoryLedger()
    logger = CostwardenLogger(Warden(ledger=ledger))
    payload = PAYLOADS["openai_cached_reasoning"]
    for n in range(3):  # a server that reuses response ids (Ollama draws them from 999 values)
        kwargs = copy.deepcopy(payload["kwargs"])
        kwargs["litellm_call_id"] = kwargs["standard_logging_object"]["litellm_call_id"] = f"call-{n}"
        slo = kwargs["standard_logging_object"]
        logger.log_success_event(kwargs, payload["response_obj"], slo["startTime"], slo["endTime"])
    events = list(ledger.events())
    assert sorted(e.id for e in events) == ["litellm:call-0", "litellm:call-1", "litellm:call-2"]
    assert {e.provider_response_id for e in events} == {payload["response_obj"]["id"]}
    # the same call reported again (LiteLLM fires success callbacks more than once) stays one event
    logger.log_success_event(kwargs, payload["response_obj"], slo["startTime"], slo["endTime"])
    assert len(list(ledger.events())) == 3
