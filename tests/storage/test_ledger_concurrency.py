"""Several processes writing one ledger at once: no lock errors, no deadlocks, nothing lost or doubled."""

from __future__ import annotations

import multiprocessing
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from costwarden.core.usage import CostBreakdown, CostSource, UsageEvent
from costwarden.storage.sql.ledger import open_ledger

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 23, tzinfo=UTC)
WORKERS = 4
PER_WORKER = 500


def event(event_id: str, tokens: int = 10, cost: str = "0.0000001") -> UsageEvent:
    return UsageEvent.create(
        id=event_id,
        provider="openai",
        model="gpt-4o",
        input_tokens=tokens,
        occurred_at=T0 + timedelta(seconds=tokens),
        project=f"p{tokens % 3}",
    ).with_cost(CostBreakdown(total=Decimal(cost) * tokens, source=CostSource.COMPUTED))


def append_one_by_one(url: str, worker: int) -> int:
    """Single durable appends: own ids, plus ids every worker shares."""
    written = 0
    with open_ledger(url) as ledger:
        for i in range(PER_WORKER):
            written += ledger.append(event(f"w{worker}-{i}")).value == "inserted"
            if i % 10 == 0:
                ledger.append(event(f"shared-{i}"))
    return written


def test_processes_appending_to_one_sqlite_file(sqlite_url: str) -> None:
    open_ledger(sqlite_url).close()
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        inserted = pool.starmap(append_one_by_one, [(sqlite_url, w) for w in range(WORKERS)])
    assert inserted == [PER_WORKER] * WORKERS
    shared = PER_WORKER // 10
    with open_ledger(sqlite_url, create=False) as ledger:
        (total,) = ledger.totals()
        assert total.events == WORKERS * PER_WORKER + shared
        assert total.cost == Decimal("0.000001") * total.events
        ids = {e.id for e in ledger.events()}
    assert ids == {f"w{w}-{i}" for w in range(WORKERS) for i in range(PER_WORKER)} | {
        f"shared-{i}" for i in range(0, PER_WORKER, 10)
    }


def append_batches(url: str, seed: int, hooks: bool) -> int:
    """Batches over one shared id space, each id in several snapshots, in shuffled order."""
    rng = random.Random(seed)
    with open_ledger(url) as ledger:
        if hooks:
            ledger.add_write_hook(_keep_sum)
        changed = 0
        for _ in range(6):
            batch = [event(f"id-{rng.randrange(300)}", tokens=rng.randrange(1, 50)) for _ in range(200)]
            changed += ledger.append_many(batch)
        return changed


def _keep_sum(conn: Any, written: Any, replaced: Any) -> None:
    delta = sum(int(r[12]) for r in written) - sum(int(r[12]) for r in replaced)
    conn.execute(text("UPDATE hook_sum SET tokens = tokens + :d"), {"d": delta})


@pytest.mark.parametrize("hooks", [False, True], ids=["plain", "hooks"])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_overlapping_batches(request: pytest.FixtureRequest, backend: str, hooks: bool) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url")
    with open_ledger(url) as ledger, ledger.write() as conn:
        conn.execute(text("CREATE TABLE hook_sum (tokens BIGINT NOT NULL)"))
        conn.execute(text("INSERT INTO hook_sum VALUES (0)"))
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        pool.starmap(append_batches, [(url, seed, hooks) for seed in range(WORKERS)])
    best: dict[str, int] = {}
    for seed in range(WORKERS):
        rng = random.Random(seed)
        for _ in range(6):
            for _ in range(200):
                key, tokens = f"id-{rng.randrange(300)}", rng.randrange(1, 50)
                best[key] = max(best.get(key, 0), tokens)
    with open_ledger(url, create=False) as ledger:
        stored = {e.id: e.usage.input_tokens for e in ledger.events()}
        assert stored == best  # the highest snapshot of every id won, whatever the interleaving
        (total,) = ledger.totals()
        assert total.input_tokens == sum(best.values())
        assert total.cost == Decimal("0.0000001") * sum(best.values())
        with ledger.read() as conn:
            kept = conn.execute(text("SELECT tokens FROM hook_sum")).scalar()
        assert kept == (sum(best.values()) if hooks else 0)
