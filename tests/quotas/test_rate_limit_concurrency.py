"""Rate limits hold under concurrency: 8 processes x 8 threads against one requests-per-window limit on
SQLite (one file), PostgreSQL and Redis; no window of the limit's length ever admits more than the limit.

Each admission's time is the engine's own "now" for its decision (read through a clock that remembers, per
thread, the last time asked: the engine asks again after the store decided, and decides again if the window
moved on meanwhile), so the check is exact: sorted by that time, no admission has more than LIMIT
admissions (itself included) in the WINDOW seconds up to it."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from bisect import bisect_left
from datetime import UTC, datetime
from typing import Any

import pytest
from quota_helpers import PRICING, MakeWarden, call

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
LIMIT = 10
WINDOW = 2.0
SECONDS = 5.0


class RememberingClock:
    """The system clock; `last()` is the last epoch time this thread asked for."""

    def __init__(self) -> None:
        self._local = threading.local()

    def last(self) -> float:
        value: float = self._local.last
        return value

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __call__(self) -> float:
        value = time.time()
        self._local.last = value
        return value


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _hammer(config: dict[str, Any], seed: int, begin: float, out: Any) -> None:
    clock = RememberingClock()
    warden = Warden(settings_from_mapping(config), database=config["database"], clock=clock)
    admitted: list[float] = []
    refused = 0
    lock = threading.Lock()

    def thread(n: int) -> None:
        nonlocal refused
        rng = random.Random(seed * 100 + n)
        time.sleep(max(0.0, begin - time.time()))
        while time.time() < begin + SECONDS:
            try:
                admission = warden.admit(call())
            except BudgetExceeded:
                with lock:
                    refused += 1
            else:
                at = clock.last()
                time.sleep(rng.random() * 0.01)  # the provider call
                warden.settle(admission, Usage(input_tokens=100, output_tokens=rng.randint(1, 100)))
                with lock:
                    admitted.append(at)
            time.sleep(0.05 + rng.random() * 0.1)

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    warden.close()
    out.put((admitted, refused))


def most_in_any_window(times: list[float]) -> int:
    """The most admissions in any closed interval of WINDOW seconds ending at an admission."""
    ordered = sorted(times)
    return max((i + 1 - bisect_left(ordered, t - WINDOW) for i, t in enumerate(ordered)), default=0)


def test_most_in_any_window_counts_a_sliding_window() -> None:
    assert most_in_any_window([0.0, 0.5, 1.9, 2.1, 4.5]) == 3
    assert most_in_any_window([0.0, 2.0]) == 2  # closed: both ends count
    assert most_in_any_window([]) == 0


@pytest.mark.parametrize("quota_backend", SHARED)
def test_eight_processes_of_eight_threads_never_exceed_a_window(make_warden: MakeWarden) -> None:
    limits = [
        {"provider": "cloud", "windows": [{"requests": LIMIT, "per": f"{WINDOW:g}s"}], "action": "refuse"}
    ]
    parent = make_warden(rate_limits=limits)
    parent.ledger.upgrade()
    config: dict[str, Any] = {"database": parent.settings.database, "pricing": PRICING, "rate_limits": limits}
    if parent.settings.redis_url:
        config["redis_url"] = parent.settings.redis_url
    ctx = _context()
    out = ctx.Queue()
    begin = time.time() + 2.0  # every process ready before the first call
    processes = [ctx.Process(target=_hammer, args=(config, seed, begin, out)) for seed in range(PROCESSES)]
    for p in processes:
        p.start()
    results = [out.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    admitted = [at for times, _ in results for at in times]
    refused = sum(n for _, n in results)
    assert most_in_any_window(admitted) <= LIMIT
    assert refused > 0, "the fleet should have hit the limit"
    # and the limit was used, not refused early: at least one full window's worth every 3 seconds
    assert len(admitted) >= LIMIT * int(SECONDS // (WINDOW + 1))
    assert len(list(parent.ledger.events())) == len(admitted)
