"""examples/seed00N.yaml load and behave as their seeds ask (real catalog prices, SQLite)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from budget_helpers import Clock

from costwarden.budgets import AlertRecord, BudgetEngine
from costwarden.config import load_settings
from costwarden.core.calls import CallRequest, Decision
from costwarden.core.usage import Attribution, Usage
from costwarden.errors import BudgetExceeded, RunTerminated
from costwarden.warden import Warden

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)


@pytest.fixture
def open_example(sqlite_url: str) -> Iterator[object]:
    opened: list[Warden] = []

    def open_(name: str) -> tuple[Warden, Clock]:
        clock = Clock(NOW)
        warden = Warden(load_settings(EXAMPLES / name), database=sqlite_url, clock=clock)
        opened.append(warden)
        engine = warden.budgets
        assert isinstance(engine, BudgetEngine) and engine.clock is clock
        return warden, clock

    yield open_
    for warden in opened:
        warden.close()


def spend(warden: Warden, provider: str, model: str, output_tokens: int, **attribution: str) -> None:
    warden.record(provider=provider, model=model, output_tokens=output_tokens, occurred_at=NOW, **attribution)


def request(provider: str, model: str, max_tokens: int, **fields: object) -> CallRequest:
    return CallRequest(provider=provider, model=model, input_tokens=0, max_tokens=max_tokens, **fields)  # type: ignore[arg-type]


def test_seed001_project_defaults_overrides_runs_and_concurrency(open_example: object) -> None:
    warden, _ = open_example("seed001.yaml")  # type: ignore[operator]
    spend(warden, "anthropic", "claude-opus-4-1", 200_000, project="web")  # $15
    spend(warden, "anthropic", "claude-opus-4-1", 200_000, project="my-arpg")  # $15
    big = request("anthropic", "claude-sonnet-4-5", 400_000)  # up to $6
    with pytest.raises(BudgetExceeded) as info:  # web: $15 + $6 > the default $20 a day
        warden.admit(
            request("anthropic", "claude-sonnet-4-5", 400_000, attribution=Attribution(project="web"))
        )
    assert (info.value.budget_id, info.value.scope) == ("project-daily", "project=web")
    warden.release(
        warden.admit(
            request("anthropic", "claude-sonnet-4-5", 400_000, attribution=Attribution(project="my-arpg"))
        )
    )  # $30 for my-arpg
    warden.release(warden.admit(big))  # no project: only the global $50
    # per agent and run: 100,000 tokens, then the run is terminated
    with warden.run(agent="coder", project="my-arpg", run="r1"):
        with warden.guard(request("openai", "gpt-4o-mini", 60_000)) as admission:
            warden.settle(admission, Usage(output_tokens=60_000))
        with pytest.raises(RunTerminated) as stopped:
            warden.admit(request("openai", "gpt-4o-mini", 60_000))
        assert stopped.value.budget_id == "agent-run" and stopped.value.unit == "tokens"
    # at most 5 agent runs at once; the 6th waits for a slot
    entered = threading.Event()
    leave = threading.Event()

    def agent(n: int) -> None:
        with warden.run(agent=f"a{n}", run=f"slot-{n}"):
            entered.set()
            leave.wait(10)

    first = [threading.Thread(target=agent, args=(n,)) for n in range(5)]
    for t in first:
        t.start()
    time.sleep(0.3)
    sixth = threading.Thread(target=agent, args=(6,))
    started = time.monotonic()
    entered.clear()
    sixth.start()
    assert not entered.wait(0.4)  # queued
    leave.set()
    sixth.join(10)
    for t in first:
        t.join(10)
    assert time.monotonic() - started >= 0.4
    assert not sixth.is_alive()


def test_seed002_plan_budget_warns_within_10_percent_blocks_and_falls_back(open_example: object) -> None:
    warden, _ = open_example("seed002.yaml")  # type: ignore[operator]
    alerts: list[AlertRecord] = []
    warden.on_alert(alerts.append)
    spend(warden, "openai", "gpt-4o", 185_000, plan="p1")  # $1.85 of the plan's $2.00: within 10%
    assert [(a.budget_id, a.threshold, a.level) for a in alerts] == [("budget-per-plan", "90", "warning")]
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(request("openai", "gpt-4o", 20_000, attribution=Attribution(plan="p1")))
    assert info.value.budget_id == "budget-per-plan" and info.value.resets_at is None
    refusals = warden.budgets.records.alerts(kinds=["block"])  # type: ignore[union-attr]
    assert refusals[0].details["plan"] == "p1"  # the exhaustion is kept for the audit
    # OpenAI's $10 a day is spent: calls needing tool calls move to the next provider that has them
    spend(warden, "openai", "gpt-4o", 820_000)
    admission = warden.admit(request("openai", "gpt-4o", 1000, capabilities=frozenset({"tool_calls"})))
    assert (admission.decision, admission.provider, admission.model) == (
        Decision.FALLBACK,
        "anthropic",
        "claude-sonnet-4-5",
    )
    warden.release(admission)
    admission = warden.admit(request("openai", "gpt-4o", 1000, capabilities=frozenset({"streaming"})))
    assert admission.provider == "anthropic"  # priority order: anthropic before groq
    warden.release(admission)
    with pytest.raises(BudgetExceeded, match="no fallback had room"):  # nobody else has json_mode
        warden.admit(request("openai", "gpt-4o", 1000, capabilities=frozenset({"json_mode"})))


def test_seed003_degrades_to_local_with_the_notice_and_shifts_between_backends(open_example: object) -> None:
    warden, clock = open_example("seed003.yaml")  # type: ignore[operator]
    spend(warden, "anthropic", "claude-sonnet-4-5", 1_150_000)  # $17.25 of claude's $20 a month, > $5 a day
    admission = warden.admit(request("anthropic", "claude-sonnet-4-5", 1000))
    assert (admission.provider, admission.model) == ("ollama", "hermes3")
    assert admission.notices == ("Cloud budget exhausted, operating local-only until 2026-11-19 00:00 UTC",)
    warden.release(admission)
    clock.set(datetime(2026, 11, 19, 9, tzinfo=UTC))  # a new day: the cloud is back, claude has $2.75 left
    admission = warden.admit(request("anthropic", "claude-sonnet-4-5", 250_000))  # up to $3.75: next backend
    assert (admission.decision, admission.provider, admission.model) == (
        Decision.FALLBACK,
        "moonshotai",
        "kimi-k2",
    )
    assert admission.reason == (
        "budget 'per-backend' has no room for anthropic/claude-sonnet-4-5; using moonshotai/kimi-k2"
    )
    warden.release(admission)


def test_seed004_daily_warns_monthly_and_project_block(open_example: object) -> None:
    warden, _ = open_example("seed004.yaml")  # type: ignore[operator]
    alerts: list[AlertRecord] = []
    warden.on_alert(alerts.append)
    spend(
        warden, "openai", "gpt-4o", 900_000, project="backend-api"
    )  # $9: 90% of the day, 18% of the project
    assert [(a.budget_id, a.threshold) for a in alerts] == [("daily", "80")]
    admission = warden.admit(
        request("openai", "gpt-4o", 200_000, attribution=Attribution(project="frontend"))
    )
    assert admission.decision is Decision.WARN  # over the daily budget: a warning, not a block
    assert admission.notices[0].startswith("Budget 'daily' exhausted")
    warden.release(admission)
    spend(warden, "openai", "gpt-4o", 3_200_000, project="backend-api")  # $32 more: $41 of $50
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(request("openai", "gpt-4o", 1_000_000, attribution=Attribution(project="backend-api")))
    assert info.value.budget_id == "backend-api-monthly"
    spend(warden, "openai", "gpt-4o", 15_000_000)  # $150: the month is at $191
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(request("openai", "gpt-4o", 1_000_000))  # up to $10 more: over the $200 month
    assert info.value.budget_id == "monthly"
