"""Forking is safe: a child never inherits a lock held by another thread of its parent (a transaction in
flight, the WAL checkpointer's connection, a pool's or a Redis connection's state), and a worker process
keeps using the Warden it inherited. The parent records from a thread and its checkpointer runs flat out
while it forks; every child records and admits through the inherited Warden and through a new one.
Nothing may hang (each child gets a deadline) and every count is exact."""

from __future__ import annotations

import multiprocessing
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from budget_helpers import PRICING, MakeWarden, call

from costwarden.budgets import BudgetEngine
from costwarden.config import settings_from_mapping
from costwarden.core.usage import Usage
from costwarden.storage.sql.engine import checkpointer_of
from costwarden.warden import Warden

pytestmark = [
    pytest.mark.slow,
    pytest.mark.forks_threads,
    pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()"),
]
SHARED = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]
CHILDREN = 24
AT_ONCE = 4
EACH = 3  # per child and Warden (inherited, new): EACH recorded, EACH admitted and settled
CALL = Decimal("0.15")  # 100 input + 50 output tokens of `big`


def _worker(warden: Warden, config: dict[str, Any]) -> None:
    """A forked child: use the parent's Warden, then a Warden of its own."""
    fresh = Warden(settings_from_mapping(config), database=config["database"])
    for user in (warden, fresh):
        for _ in range(EACH):
            user.record(provider="cloud", model="big", input_tokens=100, output_tokens=50, project="kid")
            with user.guard(call()) as admission:
                user.settle(admission, Usage(input_tokens=100, output_tokens=50))
    fresh.close()


@pytest.mark.parametrize("budget_backend", SHARED)
def test_forked_workers_use_their_warden_while_the_parent_writes(make_warden: MakeWarden) -> None:
    # The parent's writer runs until the last child is done, so on a slow machine it makes many calls:
    # the limit stays far above what it can spend, so no call is refused (a refusal is not under test).
    budgets = [{"id": "big", "period": "month", "cost_usd": "1000000"}]
    parent = make_warden(pricing=PRICING, budgets=budgets)
    parent.record(provider="cloud", model="big", input_tokens=100, output_tokens=50)
    config: dict[str, Any] = {"database": parent.settings.database, "pricing": PRICING, "budgets": budgets}
    if parent.settings.redis_url:
        config["redis_url"] = parent.settings.redis_url
    checkpointer = checkpointer_of(parent.ledger.engine)  # type: ignore[attr-defined]
    if checkpointer is not None:
        checkpointer.interval = 0.0005  # checkpoint as often as it can
    stop = threading.Event()
    written = [1]

    def write() -> None:
        while not stop.is_set():
            with parent.guard(call()) as admission:
                parent.settle(admission, Usage(input_tokens=100, output_tokens=50))
            written[0] += 1
            time.sleep(0.001)

    writer = threading.Thread(target=write)
    writer.start()
    ctx = multiprocessing.get_context("fork")
    hung: list[int] = []
    failed: list[int | None] = []
    try:
        for start in range(0, CHILDREN, AT_ONCE):
            children = [ctx.Process(target=_worker, args=(parent, config)) for _ in range(AT_ONCE)]
            for child in children:
                child.start()
            for child in children:
                child.join(60)
                if child.is_alive():
                    hung.append(start)
                    child.kill()
                    child.join()
                elif child.exitcode != 0:
                    failed.append(child.exitcode)
    finally:
        stop.set()
        writer.join()
    assert hung == [] and failed == []
    per_child = 4 * EACH
    events = written[0] + CHILDREN * per_child
    totals = parent.ledger.totals()[0]
    assert totals.events == events
    assert totals.cost == CALL * events
    engine = parent.budgets
    assert isinstance(engine, BudgetEngine)
    assert engine.store.reservations() == []
    spent = sum(s.spent.cost for s in engine.store.counters("big").values())
    assert spent == int(CALL * events * 10**10)


def test_the_fork_gate_is_open_when_the_ledger_is_idle(sqlite_url: str) -> None:
    """Every connection checked out is checked in again: a leak would make each fork wait FORK_WAIT."""
    from costwarden.forking import fork_gate

    def settled_in_flight(expected: int) -> int:
        # a background thread (the WAL checkpointer, another test's deliverer) may hold one for a moment;
        # a leak holds it for good
        deadline = time.monotonic() + 5
        while fork_gate().in_flight() != expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return fork_gate().in_flight()

    before = settled_in_flight(0)
    with Warden(settings_from_mapping({"pricing": PRICING}), database=sqlite_url) as warden:
        for _ in range(3):
            warden.record(provider="cloud", model="big", input_tokens=1)
        assert len(list(warden.ledger.events())) == 3
        assert settled_in_flight(before) == before
    assert settled_in_flight(before) == before


@pytest.mark.parametrize("budget_backend", [pytest.param("redis", marks=pytest.mark.redis)])
def test_a_child_forked_while_a_thread_holds_the_redis_pool_goes_on(make_warden: MakeWarden) -> None:
    """The Redis client's pool takes its lock to hand out connections: a fork at that instant must not
    leave the child waiting on the copy of a lock held by a thread it does not have."""
    budgets = [{"id": "big", "period": "month", "cost_usd": "1000000"}]
    parent = make_warden(pricing=PRICING, budgets=budgets)
    parent.record(provider="cloud", model="big", input_tokens=100, output_tokens=50)
    engine = parent.budgets
    assert isinstance(engine, BudgetEngine)
    pool = engine.store.redis.client.connection_pool  # type: ignore[attr-defined]
    config: dict[str, Any] = {
        "database": parent.settings.database,
        "pricing": PRICING,
        "budgets": budgets,
        "redis_url": parent.settings.redis_url,
    }
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with pool._lock:
            holding.set()
            done.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    child = multiprocessing.get_context("fork").Process(target=_worker, args=(parent, config))
    try:
        child.start()
        child.join(60)
    finally:
        done.set()
        holder.join()
        hung = child.is_alive()
        if hung:
            child.kill()
            child.join()
    assert not hung and child.exitcode == 0
    assert parent.ledger.totals()[0].events == 1 + 4 * EACH
