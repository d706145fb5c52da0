"""A lock held by another thread of the parent at the fork is free in the child (`ForkSafeLock`), so a
forked worker can keep using the ledger, stores and alert hub it inherited."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest

from costwarden.budgets.alerts import AlertHub
from costwarden.forking import ForkSafeLock
from costwarden.quotas import Quotas
from costwarden.storage.memory.budget_store import MemoryBudgetStore
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.storage.quotas import MemoryQuotaStore

pytestmark = [
    pytest.mark.forks_threads,
    pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()"),
]


def _fork_while_held(lock: Any, in_child: Callable[[], object]) -> int | None:
    """Fork while another thread holds `lock`; return the child's exit code (None: it hung)."""
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            holding.set()
            done.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    child = multiprocessing.get_context("fork").Process(target=in_child)
    try:
        child.start()
        child.join(30)
    finally:
        done.set()
        holder.join()
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return child.exitcode


@pytest.mark.parametrize("reentrant", [False, True])
def test_a_lock_held_at_the_fork_is_free_in_the_child(reentrant: bool) -> None:
    lock = ForkSafeLock(reentrant=reentrant)

    def take() -> None:
        if not lock.acquire(timeout=5):
            raise SystemExit(3)
        lock.release()

    assert _fork_while_held(lock, take) == 0
    with lock:  # the parent's lock still works, and was released by its holder
        pass


def test_the_child_of_a_plain_lock_would_hang() -> None:
    """The control: a plain `threading.Lock` held at the fork stays held in the child."""
    lock = threading.Lock()

    def take() -> None:
        raise SystemExit(0 if lock.acquire(timeout=1) else 3)

    assert _fork_while_held(lock, take) == 3


def test_a_forked_worker_keeps_using_what_it_inherited() -> None:
    ledger = MemoryLedger()
    store = MemoryBudgetStore(ledger)
    hub = AlertHub()
    quota_store = MemoryQuotaStore()
    quotas = Quotas(quota_store)
    for lock, use in [
        (ledger._lock, lambda: len(list(ledger.events()))),
        (store._lock, store.reservations),
        (hub._lock, lambda: hub.add(lambda _alert: None)),
        (quota_store._lock, quota_store.all),
        (quotas._lock, quotas.flush),
    ]:
        assert _fork_while_held(lock, use) == 0, lock
