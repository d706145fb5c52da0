"""Fixtures of the quota tests: a Warden with rate limits (and budgets) on each storage backend.

`quota_backend`: `memory`, `sqlite`, `postgres`, `redis` (counters in Redis, ledger in SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from quota_helpers import PRICING, PROVIDERS, MakeWarden

from costwarden.budgets import BudgetEngine
from costwarden.clock import Clock
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
def quota_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_warden(quota_backend: str, request: pytest.FixtureRequest) -> Iterator[MakeWarden]:
    """`make_warden(clock=..., **config)` on the backend under test (pricing and providers filled in)."""
    made: list[Warden] = []
    url: str | None = None
    redis_url: str | None = None
    if quota_backend in ("sqlite", "redis"):
        url = request.getfixturevalue("sqlite_url")
    elif quota_backend == "postgres":
        url = request.getfixturevalue("pg_url")
    if quota_backend == "redis":
        redis_url = request.getfixturevalue("redis_server")

    def make(clock: Clock | None = None, **config: Any) -> Warden:
        data: dict[str, Any] = {"pricing": PRICING, "providers": PROVIDERS, **config}
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
        if redis_url is not None and len(made) == 1 and isinstance(engine, BudgetEngine):
            engine.store.flush()  # type: ignore[attr-defined]
        return warden

    yield make
    for warden in made:
        engine = warden.budgets
        if redis_url is not None and isinstance(engine, BudgetEngine):
            engine.store.flush()  # type: ignore[attr-defined]
        warden.close()
