"""Rate limits as limits: rpm, tpm, rpd, concurrent calls and any window, per provider / account / model,
enforced at admission by the budget engine on every backend; wait, fallback or refuse. Clock-driven."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quota_helpers import MakeWarden, call

from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.core.calls import Decision
from costwarden.core.usage import Attribution, Usage
from costwarden.errors import BudgetExceeded, ConfigError, QueueTimeout
from costwarden.quotas.rate_limits import RateLimitConfig, rate_limit_budgets

NOW = datetime(2026, 12, 1, 15, 0, 0, 500000, tzinfo=UTC)


def admit_settle(warden: Any, request: Any, tokens: int = 150) -> Any:
    admission = warden.admit(request)
    warden.settle(admission, Usage(input_tokens=100, output_tokens=tokens - 100))
    return admission


def test_requests_per_minute_refuses_the_next_until_the_window_moves_on(make_warden: MakeWarden) -> None:
    clock = FixedClock(NOW)
    warden = make_warden(
        clock, rate_limits=[{"provider": "cloud", "requests_per_minute": 3, "action": "refuse"}]
    )
    for _ in range(3):
        admit_settle(warden, call())
        clock.advance(5)
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call())
    assert info.value.budget_id == "rate:cloud:rpm" and info.value.unit == "requests"
    assert info.value.limit == 3 and info.value.spent == 3
    assert info.value.resets_at is not None and info.value.resets_at <= NOW + timedelta(seconds=62)
    assert warden.admit(call("other", "mid")).provider == "other"  # another provider is not limited
    clock.set(info.value.resets_at)  # the first call's bucket has left the window
    admit_settle(warden, call())


def test_tokens_per_minute_counts_the_worst_case_then_the_real_tokens(make_warden: MakeWarden) -> None:
    clock = FixedClock(NOW)
    warden = make_warden(
        clock, rate_limits=[{"provider": "cloud", "tokens_per_minute": 500, "action": "refuse"}]
    )
    held = [warden.admit(call()) for _ in range(2)]  # 2 x (100 input + 100 max) reserved
    with pytest.raises(BudgetExceeded):
        warden.admit(call(max_tokens=150))  # 400 + 250 > 500
    for admission in held:
        warden.settle(admission, Usage(input_tokens=100, output_tokens=10))  # 110 each
    admit_settle(warden, call(max_tokens=150), tokens=110)  # 220 + 250 fits


def test_limits_per_account_and_model(make_warden: MakeWarden) -> None:
    clock = FixedClock(NOW)
    warden = make_warden(
        clock,
        rate_limits=[
            {"provider": "cloud", "account": "team", "requests_per_day": 1, "action": "refuse"},
            {"provider": "other", "model": "mid", "requests_per_minute": 1, "action": "refuse"},
        ],
    )
    team = call(attribution=Attribution(tags={"account": "team"}))
    admit_settle(warden, team)
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(team)
    assert info.value.budget_id == "rate:cloud/team:rpd"
    admit_settle(warden, call())  # the default account has no limit
    clock.advance(timedelta(hours=23))
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(team)  # a rolling day
    reset = info.value.resets_at
    assert reset is not None and NOW + timedelta(days=1) <= reset <= NOW + timedelta(days=1, minutes=48)
    clock.set(reset)  # the day's bucket (1/30 of it) has left the window
    admit_settle(warden, team)
    admit_settle(warden, call("other", "mid"))
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call("other", "mid"))
    assert info.value.budget_id == "rate:other//mid:rpm"


def test_fallback_goes_to_a_route_with_room(make_warden: MakeWarden) -> None:
    clock = FixedClock(NOW)
    warden = make_warden(
        clock,
        rate_limits=[
            {"provider": "cloud", "requests_per_minute": 1, "action": "fallback", "fallback": ["other/mid"]}
        ],
    )
    admit_settle(warden, call())
    admission = warden.admit(call())
    assert (admission.provider, admission.model, admission.decision) == ("other", "mid", Decision.FALLBACK)
    assert "Rate limit cloud rpm" in admission.notices[0]


def test_with_a_budget_both_must_have_room(make_warden: MakeWarden) -> None:
    clock = FixedClock(NOW)
    warden = make_warden(
        clock,
        budgets=[{"id": "daily", "period": "day", "cost_usd": "0.30"}],
        rate_limits=[{"provider": "cloud", "requests_per_minute": 5, "action": "refuse"}],
    )
    admit_settle(warden, call())  # $0.15 spent
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call())  # the budget refuses first: $0.20 worst case > $0.15 left
    assert info.value.budget_id == "daily"
    assert warden.budgets.store.reservations() == []  # type: ignore[attr-defined]  # all or nothing


def test_wait_queues_until_the_window_frees_and_is_bounded(make_warden: MakeWarden) -> None:
    warden = make_warden(
        rate_limits=[{"provider": "cloud", "max_concurrent": 1, "action": "wait", "max_wait": "1s"}]
    )
    first = warden.admit(call())
    admitted = threading.Event()

    def second() -> None:
        admission = warden.admit(call())
        admitted.set()
        warden.release(admission)

    worker = threading.Thread(target=second)
    worker.start()
    assert not admitted.wait(0.3)  # queued behind the running call
    warden.release(first)
    assert admitted.wait(5)
    worker.join(5)
    held = warden.admit(call())
    started = time.monotonic()
    with pytest.raises(QueueTimeout):
        warden.admit(call())
    assert 0.9 <= time.monotonic() - started < 5  # waited its max_wait, no longer
    warden.release(held)


def test_refuse_refuses_a_call_over_the_concurrency_limit_at_once(make_warden: MakeWarden) -> None:
    warden = make_warden(rate_limits=[{"provider": "cloud", "max_concurrent": 1, "action": "refuse"}])
    held = warden.admit(call())
    started = time.monotonic()
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(call())
    assert time.monotonic() - started < 5  # not queued for the default 60 s max_wait
    assert info.value.budget_id == "rate:cloud:concurrent", str(info.value)
    warden.release(held)
    warden.release(warden.admit(call()))  # the slot is free again


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"rate_limits": [{"provider": "cloud"}]}, "c.yaml")
    assert info.value.key == "rate_limits[0]" and "requests_per_minute" in str(info.value)
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(
            {"rate_limits": [{"provider": "cloud", "windows": [{"requests": 5}]}]}, "c.yaml"
        )
    assert info.value.key == "rate_limits[0].windows[0].per"
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(
            {
                "rate_limits": [
                    {
                        "provider": "cloud",
                        "requests_per_minute": 5,
                        "action": "fallback",
                        "fallback": ["nowhere"],
                    }
                ]
            },
            "c.yaml",
        )
    assert info.value.key == "rate_limits[0].fallback[0]"
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(
            {
                "rate_limits": [
                    {"provider": "cloud", "requests_per_minute": 5},
                    {"provider": "cloud", "tokens_per_minute": 5},
                ]
            },
            "c.yaml",
        )
    assert info.value.key == "rate_limits[1].provider"


def test_each_window_is_one_budget() -> None:
    limit = RateLimitConfig.model_validate(
        {
            "provider": "openai",
            "account": "team",
            "model": "gpt-5",
            "requests_per_minute": 500,
            "tokens_per_minute": 30000,
            "requests_per_day": 10000,
            "max_concurrent": 8,
            "windows": [{"requests": 20, "per": "10s"}],
            "action": "wait",
            "max_wait": "30s",
        }
    )
    budgets = {b.id: b for b in rate_limit_budgets([limit])}
    assert set(budgets) == {
        "rate:openai/team/gpt-5:rpm",
        "rate:openai/team/gpt-5:tpm",
        "rate:openai/team/gpt-5:rpd",
        "rate:openai/team/gpt-5:requests-10s",
        "rate:openai/team/gpt-5:concurrent",
    }
    rpm = budgets["rate:openai/team/gpt-5:rpm"]
    assert rpm.period.spelled == "rolling: 1m" and rpm.requests == 500 and rpm.queue_timeout == 30
    assert rpm.where == {"model": ["gpt-5"], "tag:account": ["team"]} and rpm.value == "openai"
    assert budgets["rate:openai/team/gpt-5:rpd"].period.spelled == "rolling: 1d"
    assert budgets["rate:openai/team/gpt-5:concurrent"].max_concurrent == 8
