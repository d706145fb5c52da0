"""The real openai SDK (sync) against the fake provider: every call recorded, costs exact."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import openai
import pytest

from costwarden.core.usage import CostSource, EventStatus, Usage, UsageEvent
from costwarden.storage.ledger import EventQuery
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

MESSAGES = [{"role": "user", "content": "Say hello."}]
# gpt-5: $1.25 input, $0.125 cached input, $10 output per million tokens.
CACHED = Reply(input_tokens=1000, cache_read_tokens=2000, output_tokens=500, reasoning_tokens=100)
CACHED_USAGE = Usage(input_tokens=1000, cache_read_tokens=2000, output_tokens=500, reasoning_tokens=100)
CACHED_COST = Decimal("0.00125") + Decimal("0.00025") + Decimal("0.005")


def stored_as(warden: Warden, response_id: str) -> list[UsageEvent]:
    """The events stored for the provider's response id (never their own id: servers reuse them)."""
    return list(warden.ledger.events(EventQuery(where={"provider_response_id": response_id})))


@pytest.fixture
def client(warden: Warden, fake: FakeProvider) -> Iterator[openai.OpenAI]:
    bare = openai.OpenAI(**fake.client_kwargs("openai"))
    with bare:
        yield warden.wrap(bare, project="shop")


def only_event(warden: Warden):  # type: ignore[no-untyped-def]
    events = list(warden.ledger.events())
    assert len(events) == 1, events
    return events[0]


def test_wrap_returns_a_client_of_the_same_type(warden: Warden, client: openai.OpenAI) -> None:
    assert isinstance(client, openai.OpenAI)
    with pytest.raises(TypeError, match="already wrapped"):
        warden.wrap(client)
    with pytest.raises(TypeError, match="cannot wrap"):
        warden.wrap(object())


def test_chat_completion_cached_and_reasoning_tokens_cost_exactly(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(CACHED)
    completion = client.chat.completions.create(model="gpt-5", messages=MESSAGES, costwarden_agent="greeter")
    assert completion.choices[0].message.content == "Hello from the fake provider."
    event = only_event(warden)
    assert event.provider_response_id == completion.id != event.id
    assert event.provider_request_id == completion._request_id
    assert (event.provider, event.model, event.status) == ("openai", "gpt-5", EventStatus.OK)
    assert event.usage == CACHED_USAGE  # prompt_tokens 3000 include the 2000 cached
    assert event.cost.total == CACHED_COST == Decimal("0.0065")
    assert event.cost.source == CostSource.COMPUTED
    assert (event.attribution.project, event.attribution.agent) == ("shop", "greeter")
    assert "costwarden_agent" not in fake.requests[-1].body


def test_openai_cache_writes_are_taken_out_of_the_prompt(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(Reply(input_tokens=100, cache_read_tokens=50, cache_write_tokens=400, output_tokens=10))
    client.chat.completions.create(model="gpt-5", messages=MESSAGES)
    usage = only_event(warden).usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (100, 50, 400)


def test_chat_stream_adds_include_usage_and_settles_with_reported_usage(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(CACHED)
    stream = client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from the fake provider."
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}
    event = only_event(warden)
    assert event.usage == CACHED_USAGE
    assert event.cost.total == CACHED_COST
    assert event.cost.source == CostSource.COMPUTED


def test_stream_options_of_the_caller_are_kept(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(CACHED)
    stream = client.chat.completions.create(
        model="gpt-5", messages=MESSAGES, stream=True, stream_options={"include_usage": False}
    )
    for _ in stream:
        pass
    assert fake.requests[-1].body["stream_options"] == {"include_usage": False}
    event = only_event(warden)  # no usage reported: estimated, never dropped
    assert event.cost.source == CostSource.ESTIMATED
    assert event.status == EventStatus.OK
    assert event.usage.output_tokens > 0


def test_chat_stream_helper(warden: Warden, client: openai.OpenAI, fake: FakeProvider) -> None:
    fake.enqueue(CACHED)
    with client.chat.completions.stream(model="gpt-5", messages=MESSAGES) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    event = only_event(warden)
    assert event.provider_response_id == final.id != event.id
    assert event.cost.total == CACHED_COST


def test_chat_stream_helper_closed_early_settles_estimated(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    with client.chat.completions.stream(model="gpt-5", messages=MESSAGES) as stream:
        next(iter(stream))
    event = only_event(warden)
    assert event.status == EventStatus.CANCELLED
    assert event.cost.source == CostSource.ESTIMATED


def test_responses_api_plain_and_streamed(warden: Warden, client: openai.OpenAI, fake: FakeProvider) -> None:
    fake.enqueue(CACHED, CACHED, CACHED)
    response = client.responses.create(model="gpt-5", input="Say hello.")
    assert response.output_text == "Hello from the fake provider."
    for _ in client.responses.create(model="gpt-5", input="Say hello.", stream=True):
        pass
    with client.responses.stream(model="gpt-5", input="Say hello.") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    events = list(warden.ledger.events())
    assert len(events) == 3
    assert {e.usage for e in events} == {CACHED_USAGE}
    assert sum(e.cost.total for e in events) == 3 * CACHED_COST
    assert len(stored_as(warden, response.id)) == 1
    assert len(stored_as(warden, final.id)) == 1


def test_responses_long_retention_cache_writes(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(Reply(input_tokens=10, cache_write_tokens=30, cache_write_1h_tokens=70, output_tokens=5))
    client.responses.create(model="gpt-5", input="hi")
    usage = only_event(warden).usage
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (10, 30, 70)


def test_provider_error_records_a_failed_call_and_reraises(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(Reply(error=429))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-5", messages=MESSAGES)
    event = only_event(warden)
    assert event.provider_request_id == caught.value.request_id != event.id
    assert event.status == EventStatus.ERROR
    assert event.usage.total_tokens == 0
    quota = warden.quotas.latest("openai")
    assert quota is not None and quota.status_code == 429 and quota.retry_after == 1.0


def test_interrupted_stream_settles_estimated_error(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(Reply(text="a fairly long answer that never finishes", chunks=6, interrupt_after=4))
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert received
    event = only_event(warden)
    assert event.status == EventStatus.ERROR
    assert event.cost.source == CostSource.ESTIMATED
    assert event.usage.input_tokens > 0 and event.usage.output_tokens > 0
    assert event.cost.total > 0


def test_abandoned_stream_settles_when_closed_or_dropped(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    stream = client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    dropped = client.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True)
    dropped.response.close()
    del dropped
    events = list(warden.ledger.events())
    assert len(events) == 2
    assert {e.status for e in events} == {EventStatus.CANCELLED}
    assert {e.cost.source for e in events} == {CostSource.ESTIMATED}


def test_raw_and_streaming_response_variants(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.enqueue(CACHED, CACHED)
    raw = client.chat.completions.with_raw_response.create(model="gpt-5", messages=MESSAGES)
    assert raw.headers["x-ratelimit-limit-requests"] == "10000"
    first = raw.parse()
    with client.chat.completions.with_streaming_response.create(model="gpt-5", messages=MESSAGES) as response:
        second = response.parse()
    assert len(stored_as(warden, first.id)) == 1
    assert len(stored_as(warden, second.id)) == 1
    assert sum(e.cost.total for e in warden.ledger.events()) == 2 * CACHED_COST


def test_rate_limit_headers_become_the_latest_quota(warden: Warden, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-5", messages=MESSAGES)
    quota = warden.quotas.latest("openai")
    assert quota is not None
    assert quota.windows["requests"].limit == 10000
    assert quota.windows["tokens"].remaining == 2_000_000 - 1000


def test_attribution_precedence_and_event_id(
    warden: Warden, client: openai.OpenAI, fake: FakeProvider
) -> None:
    with warden.run(project="from-run", session="s1"):
        client.chat.completions.create(
            model="gpt-5",
            messages=MESSAGES,
            costwarden_agent="a1",
            costwarden_tags={"ticket": "T-1"},
            costwarden_event_id="my-key",
        )
    event = only_event(warden)
    assert event.id == "my-key"
    assert (event.attribution.project, event.attribution.session, event.attribution.agent) == (
        "from-run",
        "s1",
        "a1",
    )
    assert event.attribution.tags == {"ticket": "T-1"}
    assert not any(k.startswith("costwarden") for k in fake.requests[-1].body)


def test_unknown_costwarden_option_is_refused_before_sending(
    client: openai.OpenAI, fake: FakeProvider
) -> None:
    with pytest.raises(TypeError, match="costwarden_budget"):
        client.chat.completions.create(model="gpt-5", messages=MESSAGES, costwarden_budget="x")
    assert fake.requests == []


def test_generator_messages_are_sent_intact(client: openai.OpenAI, fake: FakeProvider) -> None:
    client.chat.completions.create(model="gpt-5", messages=(m for m in MESSAGES))
    assert fake.requests[-1].body["messages"] == MESSAGES


def test_original_client_is_not_patched(warden: Warden, fake: FakeProvider) -> None:
    with openai.OpenAI(**fake.client_kwargs("openai")) as bare:
        warden.wrap(bare)
        bare.chat.completions.create(model="gpt-5", messages=MESSAGES)
    assert list(warden.ledger.events()) == []
