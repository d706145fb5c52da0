"""Rate-limit quota snapshots as storage keeps them: `QuotaSnapshot` (one response's windows), the
`QuotaStore` protocol (the latest snapshot per provider) and `MemoryQuotaStore`. The SQL store is
`costwarden.storage.sql.capture_store.SqlQuotaStore`; `costwarden.quotas` reads snapshots from responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from costwarden.forking import ForkSafeLock

__all__ = ["QuotaWindow", "QuotaSnapshot", "QuotaStore", "MemoryQuotaStore", "LazyQuotaStore"]

_LOW_FRACTION = 0.10


@dataclass(frozen=True, slots=True)
class QuotaWindow:
    """One rate-limit window (e.g. `requests`, `tokens`, `input-tokens`, `unified-5h`)."""

    name: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    utilization: float | None = None
    status: str | None = None

    @property
    def fraction_left(self) -> float | None:
        """Share of the window still available (0..1), when known."""
        if self.limit and self.remaining is not None:
            return max(0.0, min(1.0, self.remaining / self.limit))
        if self.utilization is not None:
            return max(0.0, 1.0 - self.utilization)
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
            "utilization": self.utilization,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> QuotaWindow:
        reset = data.get("reset_at")
        return cls(
            name=name,
            limit=data.get("limit"),
            remaining=data.get("remaining"),
            reset_at=datetime.fromisoformat(reset) if reset else None,
            utilization=data.get("utilization"),
            status=data.get("status"),
        )


@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """What one response said about a provider's quota."""

    provider: str
    observed_at: datetime
    windows: Mapping[str, QuotaWindow] = field(default_factory=dict)
    model: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def low(self) -> bool:
        """True when any window has 10 % or less left, or the call was rate limited."""
        if self.status_code == 429:
            return True
        return any(
            (w.fraction_left is not None and w.fraction_left <= _LOW_FRACTION) for w in self.windows.values()
        )

    def windows_json(self) -> str:
        return json.dumps({k: w.as_json() for k, w in sorted(self.windows.items())}, separators=(",", ":"))


class QuotaStore(Protocol):
    """Where the latest snapshot per provider is kept."""

    def save(self, snapshot: QuotaSnapshot) -> None:
        """Keep `snapshot` unless a newer one of the same provider is stored."""
        ...

    def latest(self, provider: str) -> QuotaSnapshot | None: ...

    def all(self) -> list[QuotaSnapshot]: ...


class MemoryQuotaStore:
    """A QuotaStore in memory (for `MemoryLedger` and tests)."""

    def __init__(self) -> None:
        self._rows: dict[str, QuotaSnapshot] = {}
        self._lock = ForkSafeLock()

    def save(self, snapshot: QuotaSnapshot) -> None:
        with self._lock:
            old = self._rows.get(snapshot.provider)
            if old is None or old.observed_at <= snapshot.observed_at:
                self._rows[snapshot.provider] = snapshot

    def latest(self, provider: str) -> QuotaSnapshot | None:
        return self._rows.get(provider)

    def all(self) -> list[QuotaSnapshot]:
        return sorted(self._rows.values(), key=lambda s: s.provider)


class LazyQuotaStore:
    """A `QuotaStore` found on first use (`open()`), so nothing is opened before a snapshot is read or
    written."""

    def __init__(self, open: Callable[[], QuotaStore]) -> None:
        self._open = open
        self._store: QuotaStore | None = None

    def _resolve(self) -> QuotaStore:
        if self._store is None:
            self._store = self._open()
        return self._store

    def save(self, snapshot: QuotaSnapshot) -> None:
        self._resolve().save(snapshot)

    def latest(self, provider: str) -> QuotaSnapshot | None:
        return self._resolve().latest(provider)

    def all(self) -> list[QuotaSnapshot]:
        return self._resolve().all()
