"""Every action at the limit, on every counter backend: block, warn, terminate_run, queue, fallback."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from budget_helpers import PRICING, PROVIDERS, Clock, MakeWarden, call

from costwarden.budgets import BudgetEngine
from costwarden.core.calls import Decision
from costwarden.core.usage import Attribution, Usage
from costwarden.errors import BudgetExceeded, QueueTimeout, RunTerminated
from costwarden.warden import Warden

USAGE = Usage(input_tokens=100, output_tokens=50)  # $0.15 on cloud/big


def engine_of(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def feed(warden: Warden, *kinds: str) -> list[Any]:
    engine = engine_of(warden)
    assert engine.records is not None
    return engine.records.alerts(limit=1000, kinds=list(kinds) or None)


def spent(warden: Warden, budget_id: str) -> int:
    return sum(s.spent.cost for s in engine_of(warden).store.counters(budget_id).values())


def reserved(warden: Warden, budget_id: str) -> int:
    return sum(s.reserved.cost for s in engine_of(warden).store.counters(budget_id).values())


def test_block_refuses_only_when_the_worst_case_does_not_fit(make_warden: MakeWarden) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    warden = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "daily", "period": "day", "cost_usd": "1.00"}]
    )
    admitted = 0
    with pytest.raises(BudgetExceeded) as info:
        for _ in range(20):
            with warden.guard(call()) as admission:
                assert admission.decision is Decision.ALLOW
                assert admission.reserved == Decimal("0.2")
                warden.settle(admission, USAGE, occurred_at=clock.at)
                admitted += 1
    # 6 calls of $0.15 = $0.90; the 7th needs up to $0.20 and only $0.10 is left.
    assert admitted == 6
    error = info.value
    assert type(error) is BudgetExceeded
    assert (error.budget_id, error.scope, error.period, error.unit) == ("daily", "global", "day", "cost_usd")
    assert (error.limit, error.spent, error.reserved, error.requested) == (
        Decimal(1),
        Decimal("0.9"),
        Decimal(0),
        Decimal("0.2"),
    )
    assert error.remaining == Decimal("0.1") < error.requested
    assert error.resets_at == datetime(2026, 11, 24, tzinfo=UTC)
    assert str(error) == (
        "Budget 'daily' exhausted (global, day: $0.90 spent + $0.00 reserved of $1.00; this call needs up to "
        "$0.20); calls are refused until 2026-11-24 00:00 UTC"
    )
    # a cheaper call still fits
    with warden.guard(call(model="small")) as admission:
        warden.settle(admission, USAGE, occurred_at=clock.at)
    audit = feed(warden, "block")
    assert len(audit) == 1
    assert audit[0].budget_id == "daily" and audit[0].details["model"] == "big"
    assert audit[0].resets_at == datetime(2026, 11, 24, tzinfo=UTC)
    assert reserved(warden, "daily") == 0


def test_an_error_inside_guard_releases_the_reservation(make_warden: MakeWarden) -> None:
    warden = make_warden(pricing=PRICING, budgets=[{"id": "d", "period": "day", "cost_usd": "1"}])
    with pytest.raises(RuntimeError), warden.guard(call()):
        assert reserved(warden, "d") == 2_000_000_000
        raise RuntimeError("provider down")
    assert reserved(warden, "d") == 0
    assert spent(warden, "d") == 0
    errors = [e for e in warden.ledger.events() if e.status == "error"]
    assert len(errors) == 1
    with warden.guard(call()):
        pass  # left without settling: released
    assert reserved(warden, "d") == 0


def test_settling_the_same_event_twice_counts_once_and_a_newer_snapshot_the_difference(
    make_warden: MakeWarden,
) -> None:
    warden = make_warden(pricing=PRICING, budgets=[{"id": "d", "period": "day", "cost_usd": "10"}])
    admission = warden.admit(call())
    warden.settle(admission, USAGE, event_id="same")
    warden.record(provider="cloud", model="big", id="same", input_tokens=100, output_tokens=50)
    assert spent(warden, "d") == 1_500_000_000
    warden.record(provider="cloud", model="big", id="same", input_tokens=100, output_tokens=80)
    assert spent(warden, "d") == 1_800_000_000
    assert warden.ledger.totals()[0].cost == Decimal("0.18")


def test_warn_lets_the_call_through_with_a_notice_recorded_once(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING, budgets=[{"id": "soft", "period": "day", "cost_usd": "0.25", "action": "warn"}]
    )
    decisions = []
    for _ in range(4):
        with warden.guard(call()) as admission:
            decisions.append(admission.decision)
            warden.settle(admission, USAGE)
    assert decisions == [Decision.ALLOW, Decision.WARN, Decision.WARN, Decision.WARN]
    assert spent(warden, "soft") == 6_000_000_000  # warn never refuses: $0.60 of $0.25
    warned = feed(warden, "warn")
    assert len(warned) == 1
    assert "warn only, the call proceeds" in warned[0].message


def test_terminate_run_refuses_the_runs_further_calls(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[
            {
                "id": "per-run",
                "scope": "agent",
                "period": "run",
                "cost_usd": "0.50",
                "action": "terminate_run",
            }
        ],
    )
    with warden.run(project="p", agent="coder", run="r1"):
        for _ in range(3):
            with warden.guard(call()) as admission:
                warden.settle(admission, USAGE)
        with pytest.raises(RunTerminated) as info:
            warden.admit(call())
        assert info.value.run == "r1"
        assert info.value.budget_id == "per-run" and info.value.scope == "agent=coder|run=r1"
        assert str(info.value).startswith("Run 'r1' terminated: Budget 'per-run' exhausted")
        # a call that would fit ($0.02 of the $0.05 left) is refused too: the run is over
        with pytest.raises(RunTerminated):
            warden.admit(call(model="small"))
    # the run's counter stays terminated for any process
    with warden.run(agent="coder", run="r1"), pytest.raises(RunTerminated):
        warden.admit(call(model="small"))
    # another run of the same agent starts fresh
    with warden.run(agent="coder", run="r2"), warden.guard(call()) as admission:
        warden.settle(admission, USAGE)
    assert len(feed(warden, "terminate_run")) == 1


def test_a_run_context_without_an_id_gets_one(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[
            {
                "id": "per-run",
                "scope": "run",
                "period": "total",
                "cost_usd": "0.20",
                "action": "terminate_run",
            }
        ],
    )
    with warden.run(project="p") as attribution:
        assert attribution.run is not None and attribution.run.startswith("run-")
        with warden.guard(call()) as admission:
            event = warden.settle(admission, USAGE)
        assert event.attribution.run == attribution.run
        with pytest.raises(RunTerminated):
            warden.admit(call())
    with warden.run(project="p"), warden.guard(call()) as admission:  # a new run
        warden.settle(admission, USAGE)


def test_queue_waits_for_concurrency_then_proceeds(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[{"id": "one-at-a-time", "period": "total", "max_concurrent": 1, "queue_timeout": "5s"}],
    )
    first = warden.admit(call())
    waited: list[float] = []

    def second() -> None:
        start = time.monotonic()
        with warden.guard(call()) as admission:
            waited.append(time.monotonic() - start)
            warden.settle(admission, USAGE)

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()  # queued behind the first call
    warden.settle(first, USAGE)
    thread.join(5)
    assert not thread.is_alive()
    assert 0.25 <= waited[0] < 4


def test_queue_times_out_with_a_clear_error(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[
            {"id": "q", "period": "day", "cost_usd": "0.30", "action": "queue", "queue_timeout": "0.3s"}
        ],
    )
    held = warden.admit(call())  # $0.20 reserved: another $0.20 does not fit until it settles
    start = time.monotonic()
    with pytest.raises(QueueTimeout) as info:
        warden.admit(call())
    assert time.monotonic() - start >= 0.3
    assert info.value.waited >= 0.3
    assert "waited 0.3s in the queue" in str(info.value) or "waited 0.4s in the queue" in str(info.value)
    assert isinstance(info.value, BudgetExceeded)
    assert len(feed(warden, "queue_timeout")) == 1
    warden.release(held)
    warden.release(warden.admit(call()))  # room again


def test_queue_on_a_cost_limit_proceeds_when_a_reservation_settles(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[{"id": "q", "period": "day", "cost_usd": "0.30", "action": "queue", "queue_timeout": "5s"}],
    )
    held = warden.admit(call())
    timer = threading.Timer(0.2, lambda: warden.settle(held, Usage(input_tokens=10, output_tokens=10)))
    timer.start()
    admission = warden.admit(call())  # waits for the settlement: $0.02 spent, $0.20 now fits
    timer.join()
    assert admission.decision is Decision.ALLOW
    warden.release(admission)


def test_async_guard_queues_without_blocking_the_loop(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[{"id": "one", "period": "total", "max_concurrent": 1, "queue_timeout": "5s"}],
    )

    async def main() -> list[str]:
        order: list[str] = []

        async def worker(name: str, hold: float) -> None:
            async with warden.aguard(call()) as admission:
                order.append(f"{name} in")
                await asyncio.sleep(hold)
                warden.settle(admission, USAGE)
                order.append(f"{name} out")

        async def ticker() -> None:
            for _ in range(3):
                await asyncio.sleep(0.05)
                order.append("tick")

        await asyncio.gather(worker("a", 0.3), worker("b", 0.0), ticker())
        return order

    order = asyncio.run(main())
    assert order.index("a out") < order.index("b in")
    assert order.index("tick") < order.index("a out")  # the loop kept running while b waited


def test_run_concurrency_queues_new_runs(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[
            {
                "id": "agents",
                "period": "total",
                "max_concurrent": 2,
                "concurrency": "runs",
                "queue_timeout": "0.3s",
            }
        ],
    )
    with warden.run(agent="a"), warden.run(agent="b", run="b1"):
        pass  # nested: the inner run reuses the outer's attribution but takes its own slot
    with warden.run(agent="a", run="a1"), warden.run(agent="b", run="b2"):

        def third() -> None:
            with warden.run(agent="c", run="c1"):
                pass

        with pytest.raises(QueueTimeout) as refused:
            third()
        assert refused.value.unit == "concurrent_runs"  # runs, not calls
        assert "allows 2 concurrent runs" in str(refused.value), str(refused.value)
        assert "concurrent calls" not in str(refused.value)
    with warden.run(agent="c", run="c2"):
        pass


def test_async_runs_attribute_their_calls_and_queue_without_blocking_the_loop(
    make_warden: MakeWarden,
) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[
            {
                "id": "agents",
                "period": "total",
                "max_concurrent": 1,
                "concurrency": "runs",
                "queue_timeout": "5s",
            }
        ],
    )

    async def main() -> tuple[list[str], dict[str, tuple[str | None, str | None]]]:
        order: list[str] = []
        seen: dict[str, tuple[str | None, str | None]] = {}

        async def agent(name: str, hold: float) -> None:
            async with warden.arun(agent=name, project="game") as attribution:
                order.append(f"{name} in")
                async with warden.aguard(call()) as admission:
                    event = warden.settle(admission, USAGE)
                seen[name] = (event.attribution.agent, event.attribution.run)
                assert event.attribution.run == attribution.run is not None
                await asyncio.sleep(hold)
                order.append(f"{name} out")

        async def ticker() -> None:
            for _ in range(3):
                await asyncio.sleep(0.05)
                order.append("tick")

        await asyncio.gather(agent("a", 0.3), agent("b", 0.0), ticker())
        return order, seen

    order, seen = asyncio.run(main())
    assert order.index("a out") < order.index("b in")  # one run at a time: b waited for a's slot
    assert order.index("tick") < order.index("a out")  # and the loop kept running while b waited
    assert seen["a"][0] == "a" and seen["b"][0] == "b"
    assert seen["a"][1] != seen["b"][1]  # each run got its own id
    runs = {e.attribution.run for e in warden.ledger.events()}
    assert runs == {seen["a"][1], seen["b"][1]}


@pytest.fixture
def routed(make_warden: MakeWarden) -> tuple[Warden, Clock]:
    clock = Clock(datetime(2026, 11, 15, 12, tzinfo=UTC))
    warden = make_warden(
        clock=clock,
        pricing=PRICING,
        providers=PROVIDERS,
        budgets=[
            {
                "id": "cloud-monthly",
                "name": "Cloud",
                "period": "month",
                "cost_usd": "0.50",
                "where": {"provider": ["cloud", "other", "plain"]},
                "action": "fallback",
                "fallback": ["local"],
            },
            {
                "id": "cloud-big",
                "scope": "model",
                "value": "big",
                "period": "month",
                "cost_usd": "0.30",
                "action": "fallback",
                "fallback": ["chain"],
                "fallback_order": "cost",
            },
        ],
    )
    return warden, clock


def test_fallback_skips_routes_without_the_needed_capability_and_orders_by_cost(
    routed: tuple[Warden, Clock],
) -> None:
    warden, clock = routed
    with warden.guard(call()) as admission:
        warden.settle(admission, USAGE, occurred_at=clock.at)  # $0.15 of big's $0.30
    # big has $0.15 left < $0.20: by cost the cheapest route with tool calls is the local model, then
    # cloud/small ($0.02); plain/cheap is cheaper but cannot call tools.
    admission = warden.admit(
        call(capabilities=frozenset({"tool_calls"}), attribution=Attribution(project="x"))
    )
    assert admission.decision is Decision.FALLBACK
    assert (admission.provider, admission.model) == ("ollama", "llama3")
    assert admission.switched
    assert admission.reason is not None and "'cloud-big' has no room for cloud/big" in admission.reason
    warden.release(admission)
    admission = warden.admit(call(capabilities=frozenset({"vision"}), allow_fallback=True))
    assert (admission.provider, admission.model) == ("other", "mid")
    warden.release(admission)
    with pytest.raises(BudgetExceeded, match=r"no fallback had room"):
        warden.admit(call(capabilities=frozenset({"json_mode"})))
    with pytest.raises(BudgetExceeded):
        warden.admit(call(allow_fallback=False))
    # the caller's own alternatives come first
    admission = warden.admit(call(fallbacks=(("plain", "cheap"),)))
    assert (admission.provider, admission.model) == ("plain", "cheap")
    warden.release(admission)
    kinds = [a.details.get("fallback") for a in feed(warden, "fallback")]
    assert sorted(kinds) == ["ollama/llama3", "other/mid", "plain/cheap"]


def test_fallback_degrades_to_local_with_the_notice(routed: tuple[Warden, Clock]) -> None:
    warden, clock = routed
    for provider, model in [("cloud", "big")] + [("other", "mid")] * 4:  # $0.15 + 4 x $0.075
        with warden.guard(call(model=model, provider=provider)) as admission:
            assert admission.provider == provider
            warden.settle(admission, USAGE, occurred_at=clock.at)
    with warden.guard(call(model="mid", provider="other")) as admission:  # $0.45 + $0.10 > $0.50
        assert (admission.provider, admission.model) == ("ollama", "llama3")
        assert admission.notices == (
            "Cloud budget exhausted, operating local-only until 2026-12-01 00:00 UTC",
        )
        event = warden.settle(admission, USAGE, occurred_at=clock.at)
    assert (event.provider, event.model, event.cost_total) == ("ollama", "llama3", Decimal(0))
    # next month the cloud is back
    clock.set(datetime(2026, 12, 1, tzinfo=UTC))
    with warden.guard(call(model="mid", provider="other")) as admission:
        assert admission.provider == "other"


def test_admission_without_budgets_is_allowed_as_requested(make_warden: MakeWarden) -> None:
    warden = make_warden(
        pricing=PRICING,
        budgets=[{"id": "x", "scope": "project", "value": "p", "period": "day", "cost_usd": "0"}],
    )
    admission = warden.admit(call(attribution=Attribution(project="other")))
    assert (admission.decision, admission.reservation_ids) == (Decision.ALLOW, ())
    warden.settle(admission, USAGE)
    with pytest.raises(BudgetExceeded):
        warden.admit(call(attribution=Attribution(project="p")))
