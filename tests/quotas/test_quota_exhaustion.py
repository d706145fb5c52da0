"""Never the same wall twice: a 429 or an exhausted quota marks the provider account exhausted until its
reset; admission falls back, waits (bounded) or refuses with the reset time, as the account's plan says."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest

from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest, Decision
from costwarden.core.usage import Attribution
from costwarden.errors import BudgetExceeded, QuotaExhausted
from costwarden.ledger import MemoryLedger
from costwarden.quotas.exhaustion import walls_of
from costwarden.storage.quotas import QuotaReading, QuotaSnapshot, QuotaWindow
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MESSAGES = [{"role": "user", "content": "hi"}]
PROVIDERS = [
    {"name": "openai", "models": ["gpt-5"], "capabilities": ["streaming", "tool_calls"], "priority": 1},
    {
        "name": "openrouter",
        "models": ["openai/gpt-5-mini"],
        "capabilities": ["streaming", "tool_calls"],
        "priority": 2,
    },
    {"name": "plain", "models": ["cheap"], "capabilities": ["streaming"], "priority": 3},
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


def make(clock: Any = None, *, database: str | None = None, **config: Any) -> Warden:
    settings = settings_from_mapping({"providers": PROVIDERS, **config})
    if database is not None:
        return Warden(settings, database=database, clock=clock)
    return Warden(settings, ledger=MemoryLedger(), clock=clock)


def request(provider: str = "openai", model: str = "gpt-5", **fields: Any) -> CallRequest:
    return CallRequest(provider=provider, model=model, input_tokens=10, max_tokens=10, **fields)


def test_after_a_429_the_next_call_goes_to_the_fallback_not_the_provider(
    fake: FakeProvider,
) -> None:
    fake.reset()
    clock = FixedClock(NOW)
    with (
        make(clock) as warden,
        openai.OpenAI(**fake.client_kwargs("openai")) as primary,
        openai.OpenAI(**fake.client_kwargs("openai")) as backup,
    ):
        client = warden.wrap(primary, clients={"openrouter": backup})
        fake.enqueue(Reply(error=429, headers={"retry-after": "30"}))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-5", messages=MESSAGES)
        assert len(fake.requests) == 1
        client.chat.completions.create(model="gpt-5", messages=MESSAGES)
        assert len(fake.requests) == 2  # one call, and it went to the fallback
        assert fake.requests[-1].body["model"] == "openai/gpt-5-mini"
        events = sorted(warden.ledger.events(), key=lambda e: e.status)
        assert [(e.provider, e.status.value) for e in events] == [("openai", "error"), ("openrouter", "ok")]
        clock.advance(31)  # retry-after passed: the provider is called again
        client.chat.completions.create(model="gpt-5", messages=MESSAGES)
        assert fake.requests[-1].body["model"] == "gpt-5"


def test_the_admission_says_why(fake: FakeProvider) -> None:
    clock = FixedClock(NOW)
    with make(clock) as warden:
        warden.quotas.observe("openai", {}, status_code=429)
        admission = warden.admit(request())
        assert (admission.provider, admission.model, admission.decision) == (
            "openrouter",
            "openai/gpt-5-mini",
            Decision.FALLBACK,
        )
        assert admission.switched and admission.request.provider == "openai"
        assert admission.notices[0] == (
            "openai/default quota exhausted (retry-after) until 2026-12-01 15:01 UTC; "
            "using openrouter/openai/gpt-5-mini instead of openai/gpt-5"
        )
        warden.release(admission)


def test_a_fallback_with_its_own_wall_or_without_a_capability_is_skipped() -> None:
    clock = FixedClock(NOW)
    with make(clock) as warden:
        warden.quotas.observe("openai", {"retry-after": "60"}, status_code=429)
        warden.quotas.observe(
            "openrouter",
            {
                "x-ratelimit-limit-requests": "10",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "20s",
            },
        )
        admission = warden.admit(request())
        assert admission.provider == "plain"
        with pytest.raises(QuotaExhausted) as info:
            warden.admit(request(capabilities=frozenset({"tool_calls"})))  # plain has no tool calls
        assert info.value.provider == "openai" and info.value.resets_at == NOW + timedelta(seconds=60)
        assert isinstance(info.value, BudgetExceeded)
        assert "no fallback route without a wall" in str(info.value)
        with pytest.raises(QuotaExhausted):
            warden.admit(request(allow_fallback=False))
        clock.advance(21)  # openrouter's window reset
        assert warden.admit(request(capabilities=frozenset({"tool_calls"}))).provider == "openrouter"


def test_refuse_names_the_reset_and_other_accounts_are_not_walled() -> None:
    clock = FixedClock(NOW)
    plans = [{"provider": "anthropic", "account": "work", "plan": "claude-pro", "on_exhausted": "refuse"}]
    with make(clock, subscriptions=plans) as warden:
        hit = QuotaWindow(
            "unified-5h", utilization=1.0, status="exhausted", reset_at=NOW + timedelta(hours=2)
        )
        warden.quotas.record(
            QuotaSnapshot("anthropic", NOW, {"unified-5h": hit}, account="work", source="claude-code")
        )
        work = request("anthropic", "claude-haiku-4-5", attribution=Attribution(tags={"account": "work"}))
        with pytest.raises(QuotaExhausted) as info:
            warden.admit(work)
        assert (
            str(info.value)
            == "anthropic/work quota exhausted (unified-5h): calls are refused until 2026-12-01 17:00 UTC"
        )
        assert (info.value.account, info.value.window, info.value.action) == ("work", "unified-5h", "refuse")
        warden.release(warden.admit(request("anthropic", "claude-haiku-4-5")))  # the default account
        clock.advance(timedelta(hours=2))
        warden.release(warden.admit(work))  # reset


def test_wait_waits_for_a_near_reset_and_refuses_a_far_one() -> None:
    plans = [
        {
            "provider": "openai",
            "windows": [{"name": "rpm", "unit": "requests", "limit": 5, "reset": "rolling 1m"}],
            "on_exhausted": "wait",
            "max_wait": 3,
        }
    ]
    with make(subscriptions=plans) as warden:  # the system clock: waiting lets time pass
        warden.quotas.observe("openai", {"retry-after-ms": "700"}, status_code=429)
        started = time.monotonic()
        admission = warden.admit(request())
        assert admission.provider == "openai" and 0.5 <= time.monotonic() - started < 3
        warden.release(admission)
        warden.quotas.observe("openai", {"retry-after": "120"}, status_code=429)
        started = time.monotonic()
        with pytest.raises(QuotaExhausted) as info:
            warden.admit(request())
        assert time.monotonic() - started < 1  # no point waiting past max_wait
        assert "would pass max_wait 3s" in str(info.value)


def test_a_later_accepted_call_clears_the_wall() -> None:
    clock = FixedClock(NOW)
    with make(clock) as warden:
        warden.quotas.observe("openai", {"retry-after": "600"}, status_code=429)
        assert warden.exhaustion.wall("openai") is not None
        clock.advance(5)
        warden.quotas.observe(
            "openai",
            {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "9"},
            status_code=200,
        )
        assert warden.exhaustion.wall("openai") is None


def test_another_process_sees_the_wall(sqlite_url: str) -> None:
    clock = FixedClock(NOW)
    with make(clock, database=sqlite_url) as first, make(clock, database=sqlite_url) as second:
        second.exhaustion.cache_seconds = 0  # read the store on every question
        assert second.exhaustion.wall("openai") is None
        first.quotas.observe("openai", {"retry-after": "60"}, status_code=429)
        wall = second.exhaustion.wall("openai")
        assert wall is not None and wall.until == NOW + timedelta(seconds=60)
        assert second.admit(request()).provider == "openrouter"


def test_walls_of_readings() -> None:
    def reading(window: str, at: int, **fields: Any) -> QuotaReading:
        return QuotaReading("p", "default", window, NOW + timedelta(seconds=at), "headers", **fields)

    now = NOW + timedelta(seconds=10)
    assert walls_of(
        [reading("requests", 0, limit=5, remaining=0, reset_at=NOW + timedelta(seconds=30))], now, 60
    )[0].until == NOW + timedelta(seconds=30)
    assert (
        walls_of([reading("requests", 0, limit=5, remaining=0, reset_at=NOW + timedelta(seconds=5))], now, 60)
        == []
    )  # reset passed
    assert walls_of([reading("retry-after", 0, status_code=429)], now, 60)[0].until == NOW + timedelta(
        seconds=60
    )  # cooldown
    assert walls_of([reading("x", 0, utilization=0.99)], now, 60) == []
    # a window at 100 % that another, later, reading of the account does not contradict
    full = reading("unified-7d", 0, utilization=1.0, reset_at=NOW + timedelta(days=2))
    assert len(walls_of([full, reading("unified-5h", 0, utilization=0.2)], now, 60)) == 1
    assert walls_of([full, reading("unified-5h", 5, utilization=0.2)], now, 60) == []


def test_a_refusal_stands_as_long_as_retry_after_not_until_the_windows_reset() -> None:
    refused = QuotaReading(
        "p",
        "default",
        "tokens",
        NOW,
        "headers",
        limit=5,
        remaining=4,
        reset_at=NOW + timedelta(seconds=90),
        status_code=429,
        retry_after=30,
    )
    (wall,) = walls_of([refused], NOW + timedelta(seconds=10), 60)
    assert wall.until == NOW + timedelta(seconds=30)
