from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from costwarden.core.admission import (
    Amounts,
    CounterState,
    Need,
    combined,
    crossings,
    find_shortfall,
    format_reset,
    human_amount,
    refusal_notice,
    resets_at,
)
from costwarden.core.periods import Period
from costwarden.core.policy import Action, Applied, BudgetConfig, Limits, compile_policy

UTC_ZONE = ZoneInfo("UTC")
AT = datetime(2026, 11, 23, 12, tzinfo=UTC)


def need(limits: Limits, amounts: Amounts, **config: object) -> Need:
    config.setdefault("period", "day")
    policy = compile_policy(BudgetConfig.model_validate({"id": "b", "cost_usd": 1, **config}))
    window = policy.period.window(AT, UTC_ZONE)
    return Need(Applied(policy, "", limits), f"b||{window.key}", (f"b||{window.key}",), window, amounts)


def test_fits_until_spent_plus_reserved_plus_the_call_exceeds_the_limit() -> None:
    n = need(Limits(cost=100, tokens=50), Amounts(cost=30, tokens=10, requests=1))
    assert find_shortfall(n, CounterState(Amounts(cost=40), Amounts(cost=30))) is None  # 40 + 30 + 30 = 100
    short = find_shortfall(n, CounterState(Amounts(cost=41), Amounts(cost=30)))
    assert short is not None and (short.dimension, short.remaining, short.requested) == ("cost", 29, 30)
    short = find_shortfall(n, CounterState(Amounts(tokens=45)))
    assert short is not None and short.dimension == "tokens"


def test_a_free_call_passes_a_spent_cost_limit_and_termination_refuses_all() -> None:
    n = need(Limits(cost=100), Amounts(cost=0, tokens=10, requests=1))
    assert find_shortfall(n, CounterState(Amounts(cost=150))) is None
    short = find_shortfall(n, CounterState(terminated=True))
    assert short is not None and short.terminated


def test_combined_sums_buckets_and_finds_the_oldest() -> None:
    states = {"k2": CounterState(Amounts(cost=5)), "k3": CounterState(Amounts(cost=7), Amounts(cost=1))}
    total = combined(["k1", "k2", "k3"], states)
    assert (total.spent.cost, total.reserved.cost, total.oldest) == (12, 1, "k2")
    assert combined(["k9"], states) == CounterState()


def test_crossings_once_per_level() -> None:
    n = need(Limits(cost=1000), Amounts())
    found = crossings(n.applied, n.key, "p", Amounts(cost=400), Amounts(cost=960))
    assert [c.threshold.percent for c in found] == [50, 80, 95]
    assert crossings(n.applied, n.key, "p", Amounts(cost=960), Amounts(cost=990)) == []
    assert [
        c.threshold.percent for c in crossings(n.applied, n.key, "p", Amounts(cost=499), Amounts(cost=500))
    ] == [50]


def test_resets_and_notices() -> None:
    n = need(Limits(cost=10**10), Amounts(cost=2 * 10**9))
    short = find_shortfall(n, CounterState(Amounts(cost=9 * 10**9)))
    assert short is not None
    assert resets_at(n) == datetime(2026, 11, 24, tzinfo=UTC)
    assert format_reset(resets_at(n), ZoneInfo("Europe/Berlin")) == "2026-11-24 01:00 CET"
    assert format_reset(None, UTC_ZONE) == "never"
    text = refusal_notice(
        short, tz=UTC_ZONE, action=Action.BLOCK, reset=resets_at(n), provider="p", model="m"
    )
    assert text == (
        "Budget 'b' exhausted (global, day: $0.90 spent + $0.00 reserved of $1.00; this call needs up to "
        "$0.20); calls are refused until 2026-11-24 00:00 UTC"
    )
    local = refusal_notice(
        short,
        tz=UTC_ZONE,
        action=Action.FALLBACK,
        reset=resets_at(n),
        provider="p",
        model="m",
        to=("ollama", "llama3"),
        local_only=True,
    )
    assert local == "Cloud budget exhausted, operating local-only until 2026-11-24 00:00 UTC"
    custom = need(
        Limits(cost=10**10), Amounts(cost=2 * 10**9), notice="{name}: {remaining} left, back {resets_at}"
    )
    short = find_shortfall(custom, CounterState(Amounts(cost=9 * 10**9)))
    assert short is not None
    assert refusal_notice(short, tz=UTC_ZONE, action="block", reset=None, provider="p", model="m") == (
        "b: $0.10 left, back never"
    )


def test_rolling_reset_is_when_the_oldest_bucket_leaves() -> None:
    n = need(Limits(cost=1), Amounts(cost=1), period="rolling: 5h")
    period = Period.parse("rolling: 5h")
    oldest = period.bucket_key(AT - timedelta(hours=2), UTC_ZONE)
    assert resets_at(n, oldest) == period.bucket_end(oldest)


def test_amounts_for_people() -> None:
    assert human_amount("cost", 12_345_000_000) == "$1.2345"
    assert human_amount("cost", 10**12) == "$100.00"
    assert human_amount("tokens", 12000) == "12,000 tokens"
    assert human_amount("requests", 1) == "1 request"
    assert human_amount("concurrent", 3) == "3 concurrent calls"
    assert human_amount("concurrent", 3, "runs") == "3 concurrent runs"
