"""Admission with rate limits + budgets against budgets alone, measured in the same run.

    python bench/bench_quotas.py [--calls 3000] [--redis redis://127.0.0.1:6379/0]

For each backend (memory; SQLite on a temporary file; Redis counters over a SQLite ledger with --redis) it
times, per call, interleaved round by round on two Wardens:
- `budgets`: `admit` + `settle` under two budgets that apply to every call (a global daily one and a
  per-project monthly one): the baseline;
- `budgets + rate limits`: the same budgets plus the provider's rate limits (requests and tokens per
  minute, requests per day, concurrent calls: four more limits reserved in the same transaction) and the
  exhaustion gate reading the provider's quota readings (one header snapshot recorded per call, as a
  wrapped call does).
Prints p50 / p99 in milliseconds and the ratio of the two at p50 and in the mean.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.usage import Attribution, Usage
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.warden import Warden

__all__ = ["main"]

BUDGETS = [
    {"id": "daily", "period": "day", "cost_usd": "1000000"},
    {"id": "per-project", "scope": "project", "period": "month", "cost_usd": "1000000"},
]
RATE_LIMITS = [
    {
        "provider": "openai",
        "requests_per_minute": 10**9,
        "tokens_per_minute": 10**12,
        "requests_per_day": 10**9,
        "max_concurrent": 10**6,
        "action": "refuse",
    }
]
HEADERS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-tokens": "1999000",
    "x-ratelimit-reset-tokens": "1m30s",
}
USAGE = Usage(input_tokens=1200, output_tokens=300)
PROJECTS = [f"project-{i}" for i in range(8)]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1e3, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def nothing() -> Iterator[None]:
    yield None


def make_warden(url: str | None, rate_limits: bool, redis: str | None) -> Warden:
    config: dict[str, Any] = {"budgets": BUDGETS, "rate_limits": RATE_LIMITS if rate_limits else []}
    if redis:
        config["redis_url"] = redis
    settings = settings_from_mapping(config)
    return Warden(settings, ledger=MemoryLedger()) if url is None else Warden(settings, database=url)


def run_backend(name: str, url: Callable[[], Any], calls: int, redis: str | None = None) -> None:
    requests = [
        CallRequest(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1200,
            max_tokens=1000,
            attribution=Attribution(project=PROJECTS[i % len(PROJECTS)]),
        )
        for i in range(calls + 300)
    ]
    alone: list[float] = []
    limited: list[float] = []
    with url() as first, url() as second:
        plain = make_warden(first, rate_limits=False, redis=redis)
        guarded = make_warden(second, rate_limits=True, redis=redis)
        if redis:
            plain.budgets.store.flush()  # type: ignore[union-attr]
        clock = time.perf_counter
        try:
            for i in range(calls + 300):
                t0 = clock()
                admission = plain.admit(requests[i])
                plain.settle(admission, USAGE)
                t1 = clock()
                admission = guarded.admit(requests[i])
                guarded.quotas.observe("openai", HEADERS, model="gpt-4o-mini", status_code=200)
                guarded.settle(admission, USAGE)
                t2 = clock()
                if i >= 300:  # after warming caches, pools and prepared statements
                    alone.append(t1 - t0)
                    limited.append(t2 - t1)
                if i == 300:
                    gc.collect()
        finally:
            plain.close()
            guarded.close()
    a50, a99 = percentiles(alone)
    l50, l99 = percentiles(limited)
    ratio_mean = statistics.fmean(limited) / statistics.fmean(alone)
    print(name)
    print(f"  budgets                p50 {a50:7.3f} ms   p99 {a99:7.3f} ms")
    print(f"  budgets + rate limits  p50 {l50:7.3f} ms   p99 {l99:7.3f} ms")
    print(f"  ratio: {l50 / a50:.2f}x at p50, {ratio_mean:.2f}x in the mean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--redis", help="Redis URL")
    args = parser.parse_args()
    run_backend("memory (MemoryLedger, in-process counters)", nothing, args.calls)
    run_backend("SQLite (WAL, synchronous=NORMAL)", sqlite_url, args.calls)
    if args.redis:
        run_backend("Redis counters (ledger on SQLite)", sqlite_url, args.calls, redis=args.redis)


if __name__ == "__main__":
    main()
