"""Admission + settlement per call, in process, against a plain `record` measured in the same run.

    python bench/bench_admission.py [--calls 5000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                    [--redis redis://127.0.0.1:6379/0]

For each backend (memory; SQLite on a temporary file, WAL + synchronous=NORMAL; PostgreSQL with --pg; Redis
counters over a SQLite ledger with --redis) it times, per call, interleaved round by round:
- `record`: `warden.record(...)` of one event on a Warden without budgets (the baseline);
- `record, hooked`: the same with a no-op ledger write hook (the append path settlements take on SQL);
- `admit+settle`: `warden.admit(request)` then `warden.settle(admission, usage)` on a Warden with two budgets
  that apply to every call (a global daily and a per-project monthly one), and each half on its own.
Prints p50 and p99 in milliseconds and the ratio of admit+settle to record.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
def pg_url(server: str) -> Iterator[str]:
    import psycopg

    schema = f"cw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_warden(url: str | None, budgets: bool, redis: str | None = None) -> Warden:
    config: dict[str, Any] = {"budgets": BUDGETS if budgets else []}
    if redis:
        config["redis_url"] = redis
    settings = settings_from_mapping(config)
    if url is None:
        return Warden(settings, ledger=MemoryLedger())
    return Warden(settings, database=url)


def run_backend(name: str, url: Callable[[], Any], calls: int, redis: str | None = None) -> None:
    """Interleaved: each round times one `record`, one `admit` and its `settle`, so that a busy machine
    slows all three alike and the ratios hold."""
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
    record: list[float] = []
    hooked: list[float] = []
    admit: list[float] = []
    settle: list[float] = []
    with url() as base, url() as budgeted, url() as other:
        plain = make_warden(base, budgets=False)
        guarded = make_warden(budgeted, budgets=True, redis=redis)
        with_hook = make_warden(other, budgets=False)
        add_hook = getattr(with_hook.ledger, "add_write_hook", None)
        if add_hook is not None:
            add_hook(lambda _conn, _written, _replaced: None)
        if redis:
            guarded.budgets.store.flush()  # type: ignore[union-attr]
        clock = time.perf_counter
        try:
            for i in range(calls + 300):
                project = PROJECTS[i % len(PROJECTS)]
                t0 = clock()
                plain.record(
                    provider="openai",
                    model="gpt-4o-mini",
                    input_tokens=1200,
                    output_tokens=300,
                    project=project,
                )
                t1 = clock()
                with_hook.record(
                    provider="openai",
                    model="gpt-4o-mini",
                    input_tokens=1200,
                    output_tokens=300,
                    project=project,
                )
                t2 = clock()
                admission = guarded.admit(requests[i])
                t3 = clock()
                guarded.settle(admission, USAGE)
                t4 = clock()
                if i >= 300:  # after warming caches, pools and prepared statements
                    record.append(t1 - t0)
                    hooked.append(t2 - t1)
                    admit.append(t3 - t2)
                    settle.append(t4 - t3)
                if i == 300:
                    gc.collect()
        finally:
            plain.close()
            guarded.close()
            with_hook.close()
    both = [a + s for a, s in zip(admit, settle, strict=True)]
    r50, r99 = percentiles(record)
    b50, b99 = percentiles(both)
    a50, a99 = percentiles(admit)
    s50, s99 = percentiles(settle)
    print(f"{name}")
    h50, h99 = percentiles(hooked)
    print(f"  record          p50 {r50:7.3f} ms   p99 {r99:7.3f} ms")
    print(
        f"  record, hooked  p50 {h50:7.3f} ms   p99 {h99:7.3f} ms   (the ledger's path with any write hook)"
    )
    print(f"  admit+settle    p50 {b50:7.3f} ms   p99 {b99:7.3f} ms   ({b50 / r50:.2f}x record at p50)")
    print(f"    admit         p50 {a50:7.3f} ms   p99 {a99:7.3f} ms")
    print(f"    settle        p50 {s50:7.3f} ms   p99 {s99:7.3f} ms   ({s50 / r50:.2f}x record at p50)")
    mean_record, mean_both = statistics.fmean(record) * 1e3, statistics.fmean(both) * 1e3
    print(f"  mean: record {mean_record:.3f} ms, admit+settle {mean_both:.3f} ms")


@contextmanager
def nothing() -> Iterator[None]:
    yield None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--pg", help="PostgreSQL server URL")
    parser.add_argument("--redis", help="Redis URL")
    args = parser.parse_args()
    run_backend("memory (MemoryLedger, in-process counters)", nothing, args.calls)
    run_backend("SQLite (WAL, synchronous=NORMAL)", sqlite_url, args.calls)
    if args.pg:
        run_backend("PostgreSQL", lambda: pg_url(args.pg), args.calls)
    if args.redis:
        run_backend("Redis counters (ledger on SQLite)", sqlite_url, args.calls, redis=args.redis)


if __name__ == "__main__":
    main()
