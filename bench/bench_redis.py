"""Redis counters under load: admit+settle per second from several processes on one budget.

    python bench/bench_redis.py [--redis redis://127.0.0.1:6379/0] [--processes 4] [--seconds 3]

Every process runs a BudgetEngine whose counters are in Redis (one Lua script per admission and one per
settlement) on the same global budget, for `--seconds`, as fast as it can. Measured in the same run:
- `record`: the same processes recording events without budgets (the baseline; in-memory ledger);
- `admit+settle, Redis counters`: the engine over Redis with an in-memory ledger per process (what Redis
  itself sustains: the ledger write is not the bottleneck being measured);
- `admit+settle, Redis + SQLite ledger`: the full path, every event also appended to one SQLite file.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from costwarden.budgets import AlertHub, BudgetEngine
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.policy import BudgetConfig
from costwarden.core.usage import Usage
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.storage.redis.counters import RedisCounterStore
from costwarden.warden import Warden

__all__ = ["main"]

BUDGET = {"id": "shared", "period": "day", "cost_usd": "100000000"}
USAGE = Usage(input_tokens=1200, output_tokens=300)


def _request() -> CallRequest:
    return CallRequest(provider="openai", model="gpt-4o-mini", input_tokens=1200, max_tokens=1000)


def _warden(mode: str, redis: str, namespace: str, db: str) -> Warden:
    if mode == "record":
        return Warden(settings_from_mapping({}), ledger=MemoryLedger())
    if mode == "full":
        return Warden(settings_from_mapping({"budgets": [BUDGET], "redis_url": redis}), database=db)
    ledger = MemoryLedger()
    warden = Warden(settings_from_mapping({}), ledger=ledger)
    store = RedisCounterStore(redis, ledger, namespace=namespace)
    engine = BudgetEngine(
        store=store,
        worst_case=warden.worst_case,
        budgets=[BudgetConfig.model_validate(BUDGET)],
        hub=AlertHub(),
        ledger=ledger,
    )
    store.rebuild_counters = engine.rebuild
    return Warden(settings_from_mapping({}), ledger=ledger, budgets=engine)


def _worker(mode: str, redis: str, namespace: str, db: str, seconds: float, start: Any, out: Any) -> None:
    warden = _warden(mode, redis, namespace, db)
    if mode == "record":

        def one() -> None:
            warden.record(provider="openai", model="gpt-4o-mini", input_tokens=1200, output_tokens=300)
    else:

        def one() -> None:
            warden.settle(warden.admit(_request()), USAGE)

    for _ in range(50):
        one()  # connect, load scripts, warm caches
    start.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            one()
        done += 20
    out.put(done)
    warden.close()


def server_usec(redis: str) -> tuple[int, int]:
    """(calls, microseconds) Redis spent in EVALSHA so far (INFO commandstats)."""
    import redis as redis_module

    client = redis_module.Redis.from_url(redis)
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    client.close()
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def round_trip(redis: str) -> float:
    import redis as redis_module

    client = redis_module.Redis.from_url(redis)
    for _ in range(200):
        client.ping()
    start = time.perf_counter()
    for _ in range(2000):
        client.ping()
    client.close()
    return (time.perf_counter() - start) / 2000 * 1e6


def measure(mode: str, redis: str, processes: int, seconds: float, db: str = "") -> float:
    ctx = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    namespace = f"bench-{time.time_ns()}"
    start = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(mode, redis, namespace, db, seconds, start, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    total = sum(out.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join()
    if mode != "record":
        import redis as redis_module

        client = redis_module.Redis.from_url(redis)
        for key in client.scan_iter(match=f"cw:{{{namespace}}}:*"):
            client.delete(key)
        client.close()
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    record = measure("record", args.redis, args.processes, args.seconds)
    calls_before, usec_before = server_usec(args.redis)
    counters = measure("redis", args.redis, args.processes, args.seconds)
    calls_after, usec_after = server_usec(args.redis)
    per_script = (usec_after - usec_before) / max(1, calls_after - calls_before)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        Warden(settings_from_mapping({}), database=db).ledger.close()  # migrate once, before the race
        full = measure("full", args.redis, args.processes, args.seconds, db)
    print(f"{args.processes} processes, one budget, {args.seconds:g} s each")
    print(f"  record (no budgets, in-memory ledger)     {record:10,.0f} calls/s")
    ratio = counters / record
    print(f"  admit+settle, Redis counters              {counters:10,.0f} calls/s  ({ratio:.2f}x record)")
    print(f"  admit+settle, Redis + SQLite ledger       {full:10,.0f} calls/s  ({full / record:.2f}x record)")
    print(
        f"  Redis server time per script {per_script:.1f} us: one budget sustains about "
        f"{1e6 / (2 * per_script):,.0f} admit+settle/s on the server (2 scripts per call)"
    )
    print(f"  round trip (PING) from this client: {round_trip(args.redis):.0f} us")


if __name__ == "__main__":
    main()
