"""The passive source: rate-limit headers of every wrapped call, through the real OpenAI and Anthropic SDKs
against the shipped fake provider, kept as readings per provider + account (history, not one snapshot)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anthropic
import openai
import pytest

from costwarden.clock import FixedClock
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.storage.quotas import RETRY_WINDOW
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def warden(fake: FakeProvider, clock: FixedClock) -> Iterator[Warden]:
    fake.reset()
    with Warden(ledger=MemoryLedger(), clock=clock) as w:
        w.quotas.persist_interval = 0  # keep every reading (the throttle has its own test)
        yield w


def test_openai_headers_of_each_call_become_a_time_series(
    warden: Warden, fake: FakeProvider, clock: FixedClock
) -> None:
    with openai.OpenAI(**fake.client_kwargs("openai")) as bare:
        client = warden.wrap(bare)
        for _ in range(3):
            client.chat.completions.create(model="gpt-5", messages=MESSAGES)
            clock.advance(10)
    history = warden.quotas.history(provider="openai", window="requests")
    assert [r.remaining for r in history] == [9999, 9998, 9997]
    assert [r.observed_at for r in history] == [NOW, NOW + timedelta(seconds=10), NOW + timedelta(seconds=20)]
    assert all(r.limit == 10_000 and r.account == "default" and r.source == "headers" for r in history)
    tokens = warden.quotas.history(provider="openai", window="tokens")
    assert tokens[-1].reset_at == NOW + timedelta(seconds=20 + 90)  # "1m30s" from the call's time


def test_two_accounts_of_one_provider_do_not_overwrite_each_other(warden: Warden, fake: FakeProvider) -> None:
    with anthropic.Anthropic(**fake.client_kwargs("anthropic")) as bare:
        work = warden.wrap(bare, tags={"account": "work"})
        home = warden.wrap(bare, tags={"account": "home"})
        fake.rate_limit_requests = 50
        work.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
        fake.rate_limit_requests = 1000
        home.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
    fake.rate_limit_requests = 10_000
    work_quota = warden.quotas.latest("anthropic", "work")
    home_quota = warden.quotas.latest("anthropic", "home")
    assert work_quota is not None and home_quota is not None
    assert work_quota.windows["requests"].limit == 50 and home_quota.windows["requests"].limit == 1000
    assert {(r.account, r.window) for r in warden.quotas.readings(provider="anthropic")} == {
        ("home", "requests"),
        ("home", "tokens"),
        ("work", "requests"),
        ("work", "tokens"),
    }


def test_anthropic_subscription_windows_carry_utilization(warden: Warden, fake: FakeProvider) -> None:
    reset = int((NOW + timedelta(hours=3)).timestamp())
    unified = {
        "anthropic-ratelimit-unified-5h-utilization": "0.62",
        "anthropic-ratelimit-unified-5h-reset": str(reset),
        "anthropic-ratelimit-unified-7d-utilization": "0.31",
        "anthropic-ratelimit-unified-status": "allowed",
    }
    fake.enqueue(Reply(headers=unified))
    with anthropic.Anthropic(**fake.client_kwargs("anthropic")) as bare:
        warden.wrap(bare).messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
    by_window = {r.window: r for r in warden.quotas.readings(provider="anthropic")}
    assert by_window["unified-5h"].utilization == 0.62
    assert by_window["unified-5h"].reset_at == datetime.fromtimestamp(reset, UTC)
    assert by_window["unified-7d"].used_fraction == 0.31
    assert by_window["unified"].status == "allowed"


def test_a_429_with_retry_after_is_a_reading_until_the_wait_is_over(
    warden: Warden, fake: FakeProvider
) -> None:
    fake.enqueue(Reply(error=429, headers={"retry-after": "30"}))
    with openai.OpenAI(**fake.client_kwargs("openai")) as bare:
        client = warden.wrap(bare)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-5", messages=MESSAGES)
    latest = warden.quotas.latest("openai")
    assert latest is not None and latest.status_code == 429 and latest.retry_after == 30.0
    assert latest.rate_limited
    stored = warden.quotas.history(provider="openai")
    assert {r.status_code for r in stored} == {429}


def test_a_bare_429_without_rate_limit_headers_is_kept(warden: Warden) -> None:
    snapshot = warden.quotas.observe("acme", {"content-type": "application/json"}, status_code=429)
    assert snapshot is not None
    (reading,) = warden.quotas.history(provider="acme")
    assert reading.window == RETRY_WINDOW and reading.status == "rate_limited" and reading.reset_at is None


def test_the_passive_api_takes_any_headers_mapping(warden: Warden, clock: FixedClock) -> None:
    """What the gateway calls with each upstream response."""
    headers = {"X-RateLimit-Limit-Requests": "60", "X-RateLimit-Remaining-Requests": "0", "Retry-After": "12"}
    snapshot = warden.quotas.observe("openai", headers, account="proxy", model="gpt-5", status_code=200)
    assert snapshot is not None and snapshot.rate_limited  # nothing left
    (reading,) = warden.quotas.history(provider="openai", account="proxy", window="requests")
    assert (reading.limit, reading.remaining, reading.retry_after, reading.model) == (60, 0, 12.0, "gpt-5")
    assert reading.exhausted
    assert warden.quotas.observe("openai", {"content-type": "text/plain"}) is None
