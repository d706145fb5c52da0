"""Budgets hold under concurrency: 8 processes x 8 threads on one budget, and a killed process's
reservation comes back after its deadline. SQLite (one file), PostgreSQL and Redis."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from budget_helpers import PRICING, MakeWarden, call

from costwarden.budgets import BudgetEngine
from costwarden.config import settings_from_mapping
from costwarden.core.usage import Usage
from costwarden.errors import BudgetExceeded
from costwarden.warden import Warden

pytestmark = pytest.mark.slow
SHARED = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]
PROCESSES = 8
THREADS = 8
ATTEMPTS = 6  # per thread: 384 calls wanting up to $0.20 each on a $12 budget
LIMIT = Decimal("12.00")
WORST = Decimal("0.20")


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _warden(config: dict[str, Any]) -> Warden:
    return Warden(settings_from_mapping(config), database=config["database"])


def _hammer(config: dict[str, Any], seed: int, out: Any) -> None:
    """One process: THREADS threads, each ATTEMPTS calls; reports admitted calls and refusals."""
    warden = _warden(config)
    results: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def thread(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        for _ in range(ATTEMPTS):
            try:
                with warden.guard(call()) as admission:
                    time.sleep(rng.random() * 0.002)  # the provider call
                    usage = Usage(
                        input_tokens=100, output_tokens=rng.randint(0, 100)
                    )  # never above max_tokens
                    event = warden.settle(admission, usage)
                with lock:
                    results.append(("ok", str(event.cost_total), ""))
            except BudgetExceeded as exc:
                with lock:
                    results.append(("refused", str(exc.remaining), str(exc.requested)))

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    warden.close()
    out.put(results)


def _config(warden: Warden, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"database": warden.settings.database, "pricing": PRICING, **extra}
    if warden.settings.redis_url:
        config["redis_url"] = warden.settings.redis_url
    return config


@pytest.mark.parametrize("budget_backend", SHARED)
def test_eight_processes_of_eight_threads_never_overspend(make_warden: MakeWarden) -> None:
    budgets = [{"id": "shared", "period": "day", "cost_usd": str(LIMIT)}]
    parent = make_warden(pricing=PRICING, budgets=budgets)
    config = _config(parent, budgets=budgets)
    ctx = _context()
    out = ctx.Queue()
    processes = [ctx.Process(target=_hammer, args=(config, seed, out)) for seed in range(PROCESSES)]
    for p in processes:
        p.start()
    results = [item for _ in processes for item in out.get(timeout=120)]
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    assert len(results) == PROCESSES * THREADS * ATTEMPTS
    admitted = [Decimal(cost) for kind, cost, _ in results if kind == "ok"]
    refused = [(Decimal(left), Decimal(need)) for kind, left, need in results if kind == "refused"]
    ledger_total = parent.ledger.totals()[0].cost
    assert ledger_total == sum(admitted)
    assert ledger_total <= LIMIT  # never a cent over
    assert refused, "the fleet should have run out of budget"
    # a refusal only when what was left (limit - spent - reserved, at that moment) was below the worst case
    assert all(left < need == WORST for left, need in refused)
    assert ledger_total > LIMIT - 20 * WORST  # and the budget was actually used, not refused early
    engine = parent.budgets
    assert isinstance(engine, BudgetEngine)
    assert engine.store.reservations() == []
    counters = engine.store.counters("shared")
    assert sum(s.reserved.cost for s in counters.values()) == 0
    assert sum(s.reserved.requests for s in counters.values()) == 0
    assert sum(s.spent.cost for s in counters.values()) == int(ledger_total * 10**10)


def _admit_and_die(config: dict[str, Any], ready: Any) -> None:
    warden = _warden(config)
    warden.admit(call())  # reserves the whole budget ...
    ready.set()
    os.kill(os.getpid(), signal.SIGKILL)  # ... and dies mid-call


@pytest.mark.parametrize("budget_backend", SHARED)
def test_a_killed_process_gives_its_reservation_back_after_the_deadline(make_warden: MakeWarden) -> None:
    budgets = [{"id": "small", "period": "day", "cost_usd": "0.30"}]
    admission = {"reservation_ttl": "1s", "reclaim_interval": "0.2s"}
    parent = make_warden(pricing=PRICING, budgets=budgets, admission=admission)
    config = _config(parent, budgets=budgets, admission=admission)
    ctx = _context()
    ready = ctx.Event()
    child = ctx.Process(target=_admit_and_die, args=(config, ready))
    child.start()
    assert ready.wait(30)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    started = time.monotonic()
    engine = parent.budgets
    assert isinstance(engine, BudgetEngine)
    held = engine.store.reservations()
    assert len(held) == 1 and held[0].pid == child.pid
    with pytest.raises(BudgetExceeded) as info:
        parent.admit(call())  # $0.20 held by the dead process, $0.10 left
    assert info.value.reserved == WORST
    time.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
    deadline = time.monotonic() + 5
    while True:
        try:
            admitted = parent.admit(call())
            break
        except BudgetExceeded:
            assert time.monotonic() < deadline, "the expired reservation was never reclaimed"
            time.sleep(0.1)
    assert [r.id for r in engine.store.reservations()] == list(admitted.reservation_ids)
    parent.release(admitted)
    assert engine.store.reservations() == []
