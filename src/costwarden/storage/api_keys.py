"""API keys as stored: the `KeyStore` protocol, the `StoredKey` record and `MemoryKeyStore`, the in-process
double used with `MemoryLedger`. The SQL store is `costwarden.storage.sql.key_store.SqlKeyStore`.

Only a key's hash is ever stored (the secret is shown once, when created); what a key may do is decided
above storage, in `costwarden.access`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

__all__ = ["StoredKey", "KeyStore", "MemoryKeyStore"]


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One API key as kept in the database: its public id, the SHA-256 hex digest of its secret, its role
    and restrictions. `projects` empty: every project. `agent` and `overrides` serve gateway keys: the
    attribution the gateway gives the key's calls and the attribution headers a caller may still set."""

    id: str
    name: str
    role: str
    secret_hash: str
    created_at: datetime
    projects: tuple[str, ...] = ()
    agent: str | None = None
    overrides: tuple[str, ...] = ()
    revoked_at: datetime | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyStore(Protocol):
    """Where API keys are kept (hashes only)."""

    def add(self, key: StoredKey) -> None:
        """Store a new key; a `ValueError` when its id exists."""
        ...

    def get(self, key_id: str) -> StoredKey | None:
        """The key of an id, revoked or not."""
        ...

    def all(self, *, include_revoked: bool = False) -> list[StoredKey]:
        """Every key, oldest first (active ones only unless `include_revoked`)."""
        ...

    def revoke(self, key_id: str, at: datetime) -> bool:
        """Mark a key revoked; False when there is no such active key."""
        ...

    def active_count(self) -> int:
        """How many keys are not revoked."""
        ...


class MemoryKeyStore:
    """Keys held in memory (for `MemoryLedger` and tests)."""

    def __init__(self) -> None:
        self._keys: dict[str, StoredKey] = {}
        self._lock = threading.Lock()

    def add(self, key: StoredKey) -> None:
        with self._lock:
            if key.id in self._keys:
                raise ValueError(f"an API key with id {key.id!r} exists")
            self._keys[key.id] = key

    def get(self, key_id: str) -> StoredKey | None:
        return self._keys.get(key_id)

    def all(self, *, include_revoked: bool = False) -> list[StoredKey]:
        keys = sorted(self._keys.values(), key=lambda k: (k.created_at, k.id))
        return [k for k in keys if include_revoked or k.active]

    def revoke(self, key_id: str, at: datetime) -> bool:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None or not key.active:
                return False
            self._keys[key_id] = replace(key, revoked_at=at)
            return True

    def active_count(self) -> int:
        return sum(1 for k in self._keys.values() if k.active)
