"""One backend per database: `open_backend` builds every store for a URL, `Warden(backend=...)` uses it,
and a combination that cannot work fails when the backend is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from costwarden import ConfigError, Warden
from costwarden.config import settings_from_mapping
from costwarden.core.controller import NullBudgets
from costwarden.storage import backend_for_ledger, open_backend
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow
from costwarden.storage.sql.ledger import SqlLedger

BUDGET = {"budgets": [{"id": "daily", "period": "day", "cost_usd": 5}]}


class ForeignLedger:
    """A ledger that is neither SQL nor `MemoryLedger`: it keeps events, not budget counters."""

    def __init__(self) -> None:
        self.inner = MemoryLedger()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_sql_url_gives_every_store_on_one_database_opened_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    backend = open_backend(f"sqlite:///{path}", settings_from_mapping({}))
    assert not path.exists()  # nothing opened yet
    assert isinstance(backend.ledger, SqlLedger)
    assert backend.kind == "sqlite" and backend.durable and path.exists()
    stores = backend.budget_stores()
    assert stores is backend.budget_stores() and stores.counters is stores.records and stores.redis is None
    assert backend.rollups is not None and backend.retention_horizon() is None
    backend.dismissals.dismiss("ins-1", "a title")
    backend.close()
    again = open_backend(f"sqlite:///{path}", settings_from_mapping({}))
    assert list(again.dismissals.dismissed()) == ["ins-1"]  # the same database, read back
    again.close()


def test_memory_keeps_side_stores_per_ledger_object() -> None:
    settings = settings_from_mapping({})
    backend = open_backend("memory://", settings)
    assert isinstance(backend.ledger, MemoryLedger) and not backend.durable and backend.rollups is None
    window = QuotaWindow(name="requests", limit=100, remaining=90)
    snapshot = QuotaSnapshot(provider="openai", observed_at=_now(), windows={"requests": window})
    backend.quotas.save(snapshot)
    twin = backend_for_ledger(backend.ledger, settings)
    assert twin.quotas.latest("openai") == snapshot
    assert open_backend("memory://", settings).quotas.latest("openai") is None


def test_the_token_key_is_one_per_database(tmp_path: Path) -> None:
    """Every process opening a database signs admission tokens with the same key; another database (or
    another ledger in memory) has its own."""
    settings = settings_from_mapping({})
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first, second = open_backend(url, settings), open_backend(url, settings)
    other = open_backend(f"sqlite:///{tmp_path / 'b.db'}", settings)
    key = first.token_key()
    assert len(key) == 32 and second.token_key() == key and other.token_key() != key
    for backend in (first, second, other):
        backend.close()
    reopened = open_backend(url, settings)
    assert reopened.token_key() == key  # kept in the database
    reopened.close()
    memory = open_backend("memory://", settings)
    assert backend_for_ledger(memory.ledger, settings).token_key() == memory.token_key()
    assert open_backend("memory://", settings).token_key() != memory.token_key()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 23, 14, tzinfo=UTC)


def test_redis_counters_with_a_ledger_in_memory_is_an_error_at_start_up() -> None:
    settings = settings_from_mapping({"redis_url": "redis://127.0.0.1:1/0", **BUDGET})
    with pytest.raises(ConfigError, match="redis_url") as raised:
        open_backend("memory://", settings)
    assert raised.value.key == "redis_url"
    with pytest.raises(ConfigError, match="redis_url"):
        Warden(settings, ledger=MemoryLedger())


def test_budgets_on_a_ledger_without_budget_storage_are_an_error_at_start_up() -> None:
    settings = settings_from_mapping(BUDGET)
    with pytest.raises(ConfigError, match="ForeignLedger keeps no budget counters") as raised:
        Warden(settings, ledger=ForeignLedger())  # type: ignore[arg-type]
    assert raised.value.key == "budgets"
    # without budgets, or with a controller of its own, such a ledger records events
    with Warden(settings_from_mapping({}), ledger=ForeignLedger()) as warden:  # type: ignore[arg-type]
        warden.record(provider="openai", model="gpt-5", input_tokens=10)
        assert isinstance(warden.budgets, NullBudgets)
    ledger = ForeignLedger()
    with Warden(settings, ledger=ledger, budgets=NullBudgets(ledger)) as warden:  # type: ignore[arg-type]
        warden.record(provider="openai", model="gpt-5", input_tokens=10)
        assert len(list(ledger.events())) == 1


def test_a_warden_uses_the_backend_it_is_given(sqlite_url: str) -> None:
    settings = settings_from_mapping(BUDGET)
    backend = open_backend(sqlite_url, settings)
    with Warden(settings, backend=backend) as warden:
        assert warden.ledger is backend.ledger
        warden.record(provider="openai", model="gpt-5", input_tokens=1_000_000)
        assert warden.budgets.store is backend.budget_stores().counters  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="backend or a ledger"):
        Warden(settings, backend=backend, ledger=MemoryLedger())


def test_redis_counters_sit_beside_the_sql_ledger(sqlite_url: str, redis_server: str) -> None:
    backend = open_backend(sqlite_url, settings_from_mapping({"redis_url": redis_server, **BUDGET}))
    stores = backend.budget_stores()
    assert stores.redis is not None and stores.counters is not stores.records
    backend.close()
