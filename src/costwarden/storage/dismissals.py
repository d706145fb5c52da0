"""Dismissed insights: the `Dismissals` protocol and `MemoryDismissals`, the in-process double used with
`MemoryLedger`. The SQL store is `costwarden.storage.sql.insight_store.SqlDismissals`."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from costwarden.clock import default_now

__all__ = ["Dismissals", "MemoryDismissals"]


class Dismissals(Protocol):
    """Where dismissed insight ids are kept."""

    def dismissed(self) -> dict[str, datetime]: ...

    def dismiss(self, insight_id: str, title: str | None = None, at: datetime | None = None) -> bool:
        """Remember a dismissal; False when it was already dismissed."""
        ...

    def restore(self, insight_id: str) -> bool:
        """Forget a dismissal; False when it was not dismissed."""
        ...


class MemoryDismissals:
    """Dismissals held in memory (for `MemoryLedger` and tests)."""

    def __init__(self) -> None:
        self._items: dict[str, datetime] = {}

    def dismissed(self) -> dict[str, datetime]:
        return dict(self._items)

    def dismiss(self, insight_id: str, title: str | None = None, at: datetime | None = None) -> bool:
        if insight_id in self._items:
            return False
        self._items[insight_id] = at or default_now()
        return True

    def restore(self, insight_id: str) -> bool:
        return self._items.pop(insight_id, None) is not None
