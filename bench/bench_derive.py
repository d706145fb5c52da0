"""The first admission of a new budget key on a large ledger (its counters derived from the ledger), against
an admission on an already-derived key measured in the same run.

    python bench/bench_derive.py [--events 1000000] [--pg postgresql://postgres@127.0.0.1:5432/test]

Fills a ledger (SQLite on a temporary file; PostgreSQL with --pg) with `--events` events spread over the
current month and 8 projects, then for each new budget (a global monthly one, a per-project monthly one, a
`total` one) times the first `admit` (which derives the budget's current period from the ledger) and the
p50 of 200 later admissions (derived: the baseline), and prints the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_admission import pg_url, sqlite_url
from costwarden.budgets import BudgetEngine, SavedBudget
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.usage import Attribution, UsageEvent
from costwarden.warden import Warden

__all__ = ["main"]

PROJECTS = [f"project-{i}" for i in range(8)]
BUDGETS: list[dict[str, Any]] = [
    {"id": "monthly", "period": "month", "cost_usd": "100000000"},
    {"id": "per-project", "scope": "project", "period": "month", "cost_usd": "100000000"},
    {"id": "forever", "period": "total", "cost_usd": "100000000"},
]


def events(count: int, now: datetime) -> Iterator[UsageEvent]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span = max(1.0, (now - start).total_seconds() - 60)
    for i in range(count):
        yield UsageEvent.create(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1200,
            output_tokens=300,
            project=PROJECTS[i % len(PROJECTS)],
            occurred_at=start + timedelta(seconds=span * i / count),
        )


def fill(warden: Warden, count: int, now: datetime) -> float:
    started = time.perf_counter()
    batch: list[UsageEvent] = []
    for event in events(count, now):
        batch.append(event)
        if len(batch) == 20_000:
            warden.record_many(batch)
            batch = []
    if batch:
        warden.record_many(batch)
    return time.perf_counter() - started


def run_backend(name: str, url: Callable[[], AbstractContextManager[str]], count: int) -> None:
    now = datetime.now(UTC)
    request = CallRequest(
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=1200,
        max_tokens=1000,
        attribution=Attribution(project=PROJECTS[0]),
    )
    with url() as database:
        warden = Warden(settings_from_mapping({}), database=database)
        seconds = fill(warden, count, now)
        print(f"{name}: {count:,} events recorded in {seconds:.1f} s")
        engine = warden.budgets
        assert isinstance(engine, BudgetEngine) and engine.records is not None
        for budget in BUDGETS:
            engine.records.save_budget(SavedBudget(budget["id"], budget))
            engine._version_checked = 0.0  # pick the new budget up now, not within admission.refresh
            t0 = time.perf_counter()
            warden.release(warden.admit(request))
            first = time.perf_counter() - t0
            later: list[float] = []
            for _ in range(200):
                t0 = time.perf_counter()
                admission = warden.admit(request)
                later.append(time.perf_counter() - t0)
                warden.release(admission)
            base = statistics.median(later)
            print(
                f"  budget {budget['id']!r} added: first admission {first * 1e3:,.1f} ms, "
                f"derived key p50 {base * 1e3:.3f} ms, ratio {first / base:,.0f}x"
            )
            engine.records.remove_budget(budget["id"])
            engine._version_checked = 0.0
        warden.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg", help="PostgreSQL server URL (a fresh schema is used and dropped)")
    args = parser.parse_args()
    run_backend("SQLite", sqlite_url, args.events)
    if args.pg:
        server = args.pg
        run_backend("PostgreSQL", lambda: pg_url(server), args.events)


if __name__ == "__main__":
    main()
