"""What log imports keep in storage: how far each file was read (`FileOffset`, the `OffsetStore` protocol,
`MemoryOffsetStore`) and what an event id already stored holds (`StoredSnapshot`). The SQL stores are in
`costwarden.storage.sql.capture_store`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from costwarden.forking import ForkSafeLock

__all__ = ["FileOffset", "OffsetStore", "MemoryOffsetStore", "StoredSnapshot"]


@dataclass(frozen=True, slots=True)
class FileOffset:
    """How far one file was imported."""

    source: str
    path: str
    position: int
    size: int
    mtime_ns: int
    fingerprint: str
    lines: int
    state: dict[str, Any] | None = None


class OffsetStore(Protocol):
    def get(self, source: str, path: str) -> FileOffset | None: ...

    def put(self, offset: FileOffset) -> None: ...


class MemoryOffsetStore:
    """Offsets in memory (for `MemoryLedger`: one store per ledger object)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], FileOffset] = {}
        self._lock = ForkSafeLock()

    def get(self, source: str, path: str) -> FileOffset | None:
        return self._rows.get((source, path))

    def put(self, offset: FileOffset) -> None:
        with self._lock:
            self._rows[(offset.source, offset.path)] = offset


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """What an import needs to know of a stored event: its snapshot key and its cost."""

    total_tokens: int
    occurred_at: int  # microseconds since the epoch, UTC
    cost_units: int
