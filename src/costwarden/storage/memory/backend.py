"""The in-memory backend: a `MemoryLedger` (or another `Ledger` object) and side stores kept in this
process. Built by `costwarden.storage.backend.open_backend("memory://", ...)` or `backend_for_ledger`.

Quotas, import offsets and dismissals belong to the ledger object: every backend around the same ledger
sees the same ones, as every backend on one database sees its tables."""

from __future__ import annotations

import secrets
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from costwarden.core.money import to_units
from costwarden.storage.api_keys import MemoryKeyStore
from costwarden.storage.budgets import BudgetStores
from costwarden.storage.codec import to_micros
from costwarden.storage.dismissals import MemoryDismissals
from costwarden.storage.ledger import Ledger
from costwarden.storage.offsets import MemoryOffsetStore, StoredSnapshot
from costwarden.storage.quotas import MemoryQuotaStore
from costwarden.storage.tiers import MemoryTierStore

__all__ = ["MemoryBackend"]


@dataclass(slots=True)
class _SideStores:
    quotas: MemoryQuotaStore = field(default_factory=MemoryQuotaStore)
    offsets: MemoryOffsetStore = field(default_factory=MemoryOffsetStore)
    dismissals: MemoryDismissals = field(default_factory=MemoryDismissals)
    api_keys: MemoryKeyStore = field(default_factory=MemoryKeyStore)
    tiers: MemoryTierStore = field(default_factory=MemoryTierStore)
    token_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))


_SIDE_STORES: weakref.WeakKeyDictionary[object, _SideStores] = weakref.WeakKeyDictionary()
_SIDE_LOCK = threading.Lock()


def _side_stores(ledger: Ledger) -> _SideStores:
    with _SIDE_LOCK:
        stores = _SIDE_STORES.get(ledger)
        if stores is None:
            stores = _SIDE_STORES[ledger] = _SideStores()
        return stores


class MemoryBackend:
    """Every store in this process, around `ledger`."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._side = _side_stores(ledger)
        self._budgets: BudgetStores | None = None

    @property
    def kind(self) -> str:
        return "memory"

    @property
    def durable(self) -> bool:
        return False

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    def budget_stores(self) -> BudgetStores:
        if self._budgets is None:
            from costwarden.storage.memory.budget_store import MemoryBudgetStore

            memory = MemoryBudgetStore(self._ledger)
            self._budgets = BudgetStores(counters=memory, records=memory)
        return self._budgets

    @property
    def quotas(self) -> MemoryQuotaStore:
        return self._side.quotas

    @property
    def offsets(self) -> MemoryOffsetStore:
        return self._side.offsets

    @property
    def dismissals(self) -> MemoryDismissals:
        return self._side.dismissals

    @property
    def api_keys(self) -> MemoryKeyStore:
        return self._side.api_keys

    @property
    def tiers(self) -> MemoryTierStore:
        return self._side.tiers

    @property
    def rollups(self) -> None:
        return None

    @property
    def outbox(self) -> None:
        return None

    def stored_snapshots(self, ids: list[str]) -> dict[str, StoredSnapshot]:
        found: dict[str, StoredSnapshot] = {}
        for event_id in ids:
            event = self._ledger.get(event_id)
            if event is not None and event.cost is not None:
                found[event_id] = StoredSnapshot(
                    event.usage.total_tokens, to_micros(event.occurred_at), to_units(event.cost_total)
                )
        return found

    def retention_horizon(self) -> datetime | None:
        return None

    def token_key(self) -> bytes:
        return self._side.token_key

    def close(self) -> None:
        self._ledger.close()
