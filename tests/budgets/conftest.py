"""Fixtures of the budget tests: a Warden with budgets on each counter backend, and a settable clock.

`budget_backend` runs a test on `memory` (MemoryLedger + MemoryBudgetStore), `sqlite`, `postgres` and
`redis` (counters in Redis, ledger in SQLite; the `redis_server` fixture of tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from budget_helpers import Clock, MakeWarden

from costwarden.budgets import BudgetEngine
from costwarden.config import settings_from_mapping
from costwarden.ledger import MemoryLedger
from costwarden.warden import Warden

BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]


@pytest.fixture(params=BACKENDS)
def budget_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_warden(budget_backend: str, request: pytest.FixtureRequest) -> Iterator[MakeWarden]:
    """`make_warden(budgets=[...], providers=[...], **settings)` on the backend under test."""
    made: list[Warden] = []
    url: str | None = None
    redis_url: str | None = None
    if budget_backend in ("sqlite", "redis"):
        url = request.getfixturevalue("sqlite_url")
    elif budget_backend == "postgres":
        url = request.getfixturevalue("pg_url")
    if budget_backend == "redis":
        redis_url = request.getfixturevalue("redis_server")

    def make(clock: Clock | None = None, **config: Any) -> Warden:
        data = dict(config)
        if redis_url is not None:
            data["redis_url"] = redis_url
        settings = settings_from_mapping(data)
        warden = (
            Warden(settings, ledger=MemoryLedger(), clock=clock)
            if url is None
            else Warden(settings, database=url, clock=clock)
        )
        made.append(warden)
        engine = warden.budgets
        assert isinstance(engine, BudgetEngine)
        if redis_url is not None and len(made) == 1:
            engine.store.flush()  # type: ignore[attr-defined]
        return warden

    yield make
    for warden in made:
        engine = warden.budgets
        if redis_url is not None and isinstance(engine, BudgetEngine):
            engine.store.flush()  # type: ignore[attr-defined]
        warden.close()
