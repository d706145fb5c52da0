"""`Quotas`: what is known of every provider account's quota, kept as a time series.

Every source ends here: the rate-limit headers of wrapped (and proxied) calls (`observe`), the importers'
readings (Codex `rate_limits`, Claude Code limit hits) and the pollers (`record`). Each snapshot's windows
are appended to the store as readings (`costwarden.storage.quotas`), per provider + account: history, not
only the latest.

Writes are throttled per provider + account: a snapshot is stored at once when it is the first, when a
window runs low (<= 10 % left), when the call was rate limited (HTTP 429) or when `persist_interval`
seconds passed since the last write; otherwise it is held (the newest only) and written by the next due
snapshot, by `flush()` or when the tracker is collected. Reads see this process's newest snapshot too.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Mapping
from datetime import datetime

from costwarden.clock import Clock, clock_from_env
from costwarden.forking import ForkSafeLock
from costwarden.quotas.headers import parse_quota_headers
from costwarden.storage.quotas import (
    MemoryQuotaStore,
    QuotaReading,
    QuotaSnapshot,
    QuotaStore,
    readings_of,
)

__all__ = ["Quotas"]

_Key = tuple[str, str]


class Quotas:
    """Quota readings per provider + account, persisted to a store with a write throttle."""

    def __init__(
        self, store: QuotaStore | None = None, *, persist_interval: float = 1.0, clock: Clock | None = None
    ) -> None:
        self.store: QuotaStore = store if store is not None else MemoryQuotaStore()
        self.clock: Clock = clock if clock is not None else clock_from_env()
        """"Now" for reset times given as durations (default: `$COSTWARDEN_NOW` or the system clock)."""
        self.persist_interval = persist_interval
        self._latest: dict[_Key, QuotaSnapshot] = {}
        self._pending: dict[_Key, QuotaSnapshot] = {}
        self._persisted_at: dict[_Key, float] = {}
        self._lock = ForkSafeLock()
        self.version = 0
        """Changes whenever this process records a snapshot that raises or may lift a wall (a refusal, an
        exhausted window, or the first snapshot after one): readers of the store cache by it."""
        weakref.finalize(self, _flush_pending, self.store, self._pending, self._lock)

    def observe(
        self,
        provider: str,
        headers: Mapping[str, str],
        *,
        account: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
    ) -> QuotaSnapshot | None:
        """Read one response's headers (`x-ratelimit-*`, `anthropic-ratelimit-*`, `retry-after`) and keep
        what they say for `provider` / `account`; returns the snapshot (None when they carry nothing).

        The one call every passive source makes: the SDK wrappers, the LiteLLM callback and the gateway
        pass each upstream response's headers and HTTP status here."""
        snapshot = parse_quota_headers(
            provider, headers, now=self.clock.now(), model=model, status_code=status_code, account=account
        )
        if snapshot is None:
            return None
        self.record(snapshot)
        return snapshot

    def record(self, snapshot: QuotaSnapshot) -> None:
        """Keep a snapshot (any source): the newest of its provider + account, stored per the throttle."""
        key = (snapshot.provider, snapshot.account)
        now = time.monotonic()
        with self._lock:
            current = self._latest.get(key)
            if snapshot.rate_limited or (current is not None and current.rate_limited):
                self.version += 1  # a wall may stand or fall: readers of the store look again
            if current is None or current.observed_at <= snapshot.observed_at:
                self._latest[key] = snapshot
            last = self._persisted_at.get(key)
            due = last is None or now - last >= self.persist_interval or snapshot.low
            if not due:
                self._pending[key] = snapshot
                return
            held = self._pending.pop(key, None)
            self._persisted_at[key] = now
        readings = readings_of(snapshot) if held is None else [*readings_of(held), *readings_of(snapshot)]
        self.store.append(readings)

    def record_many(self, snapshots: list[QuotaSnapshot]) -> None:
        """Keep many snapshots at once (an import's readings), every one stored, no throttle."""
        with self._lock:
            self.version += 1
            for snapshot in snapshots:
                key = (snapshot.provider, snapshot.account)
                current = self._latest.get(key)
                if current is None or current.observed_at <= snapshot.observed_at:
                    self._latest[key] = snapshot
        self.store.append([r for snapshot in snapshots for r in readings_of(snapshot)])

    def latest(self, provider: str, account: str | None = None) -> QuotaSnapshot | None:
        """The newest snapshot of a provider's account (None: of its most recently seen account): this
        process's, else built from the stored readings."""
        mine = [
            s for (p, a), s in self._latest.items() if p == provider and (account is None or a == account)
        ]
        stored = self.store.latest(provider, account)
        found = [*mine, *([stored] if stored is not None else [])]
        return max(found, key=lambda s: s.observed_at) if found else None

    def all(self) -> list[QuotaSnapshot]:
        """The newest snapshot of every provider + account known here or in the store."""
        merged = {(s.provider, s.account): s for s in self.store.all()}
        for key, snapshot in list(self._latest.items()):
            stored = merged.get(key)
            if stored is None or stored.observed_at <= snapshot.observed_at:
                merged[key] = snapshot
        return [merged[k] for k in sorted(merged)]

    def readings(
        self, *, provider: str | None = None, account: str | None = None, since: datetime | None = None
    ) -> list[QuotaReading]:
        """The newest reading of every window (stored, and this process's held-back ones); with `since`,
        of the windows read since then only."""
        self.flush()
        return self.store.latest_readings(provider=provider, account=account, since=since)

    def history(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        window: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[QuotaReading]:
        """Stored readings, oldest first (held-back ones are written first)."""
        self.flush()
        return self.store.history(provider=provider, account=account, window=window, since=since, until=until)

    def flush(self) -> None:
        """Write snapshots held back by the throttle."""
        _flush_pending(self.store, self._pending, self._lock)


def _flush_pending(store: QuotaStore, pending: dict[_Key, QuotaSnapshot], lock: ForkSafeLock) -> None:
    with lock:
        items = list(pending.values())
        pending.clear()
    readings = [r for snapshot in items for r in readings_of(snapshot)]
    if readings:
        with contextlib.suppress(Exception):  # at interpreter exit the database may already be gone
            store.append(readings)
