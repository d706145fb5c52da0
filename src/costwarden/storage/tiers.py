"""Cost tiers set from the CLI, as stored: the `TierStore` protocol, the `SavedTier` record and
`MemoryTierStore`, the in-process double used with `MemoryLedger`. The SQL store is
`costwarden.storage.sql.tier_store.SqlTierStore` (table `cost_tiers`); like budgets set from the CLI, tiers
live beside the ledger (never in Redis).

A saved tier is either a change (`definition`: the fields given, as under `tiers.definitions`; a new tier
or a change of a built-in one) or the removal of a built-in tier (`removed`). How they combine with the
config file's `tiers:` section is decided above storage (`costwarden.pricing.tiers.merge_tiers`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from costwarden.storage.codec import now_micros

__all__ = ["SavedTier", "TierStore", "MemoryTierStore"]


@dataclass(frozen=True, slots=True)
class SavedTier:
    """One tier set from the CLI: its id and the fields given (`removed`: a built-in tier taken away)."""

    id: str
    definition: Mapping[str, Any] = field(default_factory=dict)
    removed: bool = False
    updated: float = 0.0
    """Epoch seconds of the last change (bookkeeping)."""


class TierStore(Protocol):
    """Where tiers set from the CLI are kept."""

    def saved_tiers(self) -> list[SavedTier]:
        """Every saved tier, by id."""
        ...

    def tiers_version(self) -> str:
        """Changes whenever a saved tier is added, changed or forgotten (cheap to poll)."""
        ...

    def save_tier(self, tier: SavedTier) -> None:
        """Store (or replace) the record of `tier.id`."""
        ...

    def forget_tier(self, tier_id: str) -> bool:
        """Drop the record of `tier_id`; False when there was none."""
        ...


class MemoryTierStore:
    """Saved tiers held in memory (for `MemoryLedger` and tests)."""

    def __init__(self) -> None:
        self._tiers: dict[str, SavedTier] = {}
        self._changes = 0
        self._lock = threading.Lock()

    def saved_tiers(self) -> list[SavedTier]:
        with self._lock:
            return [self._tiers[key] for key in sorted(self._tiers)]

    def tiers_version(self) -> str:
        return str(self._changes)

    def save_tier(self, tier: SavedTier) -> None:
        with self._lock:
            self._tiers[tier.id] = replace(tier, definition=dict(tier.definition), updated=now_micros() / 1e6)
            self._changes += 1

    def forget_tier(self, tier_id: str) -> bool:
        with self._lock:
            found = self._tiers.pop(tier_id, None) is not None
            if found:
                self._changes += 1
            return found
