"""Quota readings as storage keeps them: a time series per provider + account + window.

- `QuotaWindow`: one window of one observation (`requests`, `tokens`, `unified-5h`, `primary-300m`, ...):
  its limit, what is left or used, its utilization (0..1) when only the provider knows the cap, its reset.
- `QuotaSnapshot`: everything one observation said (a response's rate-limit headers, a Codex
  `rate_limits` block, a poller's answer): provider, account, windows, HTTP status, `retry-after`.
- `QuotaReading`: one window of one snapshot, the row storage keeps (`readings_of(snapshot)`); a snapshot
  that names no window but was rate limited (HTTP 429, `retry-after`) is kept as a reading of the window
  `retry-after` with status `rate_limited` and its reset.
- `QuotaStore`: appends readings and answers history and the latest reading per window; `MemoryQuotaStore`
  here, the SQL one is `costwarden.storage.sql.quota_store.SqlQuotaStore`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from costwarden.core.quota_percent import used_fraction
from costwarden.forking import ForkSafeLock

__all__ = [
    "DEFAULT_ACCOUNT",
    "RETRY_WINDOW",
    "QuotaWindow",
    "QuotaSnapshot",
    "QuotaReading",
    "QuotaStore",
    "MemoryQuotaStore",
    "LazyQuotaStore",
    "readings_of",
    "snapshot_of",
    "latest_per_window",
]

DEFAULT_ACCOUNT = "default"
"""The account of a provider when none is named."""
RETRY_WINDOW = "retry-after"
"""The window name of a rate-limited response that named no window of its own."""
_LOW_FRACTION = 0.10


@dataclass(frozen=True, slots=True)
class QuotaWindow:
    """One rate-limit or subscription window (e.g. `requests`, `tokens`, `unified-5h`)."""

    name: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    utilization: float | None = None
    """Share used, 0..1 (more when over), when the provider says so (subscription windows)."""
    status: str | None = None
    used: int | None = None
    """Amount used, when the source says so rather than what is left (pollers)."""
    unit: str | None = None
    """`requests`, `tokens`, `usd` (amounts in 10^-10 USD) or None (the window's name says)."""

    @property
    def fraction_left(self) -> float | None:
        """Share of the window still available (0..1), when known."""
        if self.limit and self.remaining is not None:
            return max(0.0, min(1.0, self.remaining / self.limit))
        if self.limit and self.used is not None:
            return max(0.0, min(1.0, 1 - self.used / self.limit))
        if self.utilization is not None:
            return max(0.0, 1.0 - self.utilization)
        return None

    @property
    def exhausted(self) -> bool:
        """Nothing left: no remaining requests or tokens, utilization at 100 %, or a refusing status."""
        if self.status in ("rate_limited", "rejected", "exhausted"):
            return True
        left = self.fraction_left
        return left is not None and left <= 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "used": self.used,
            "unit": self.unit,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
            "utilization": self.utilization,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """What one observation said about a provider account's quota."""

    provider: str
    observed_at: datetime
    windows: Mapping[str, QuotaWindow] = field(default_factory=dict)
    model: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    account: str = DEFAULT_ACCOUNT
    source: str = "headers"
    """Where it came from: `headers`, `codex`, `claude-code`, `poll:<name>`, ..."""

    @property
    def low(self) -> bool:
        """True when any window has 10 % or less left, or the call was rate limited."""
        if self.status_code == 429:
            return True
        return any(
            (w.fraction_left is not None and w.fraction_left <= _LOW_FRACTION) for w in self.windows.values()
        )

    @property
    def rate_limited(self) -> bool:
        """The call was refused for its rate limit (HTTP 429) or a window says it is exhausted."""
        return self.status_code == 429 or any(w.exhausted for w in self.windows.values())

    def windows_json(self) -> str:
        return json.dumps({k: w.as_json() for k, w in sorted(self.windows.items())}, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class QuotaReading:
    """One window of one observation: the row of the time series."""

    provider: str
    account: str
    window: str
    observed_at: datetime
    source: str
    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    utilization: float | None = None
    reset_at: datetime | None = None
    status: str | None = None
    unit: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    model: str | None = None

    @property
    def as_window(self) -> QuotaWindow:
        return QuotaWindow(
            name=self.window,
            limit=self.limit,
            remaining=self.remaining,
            reset_at=self.reset_at,
            utilization=self.utilization,
            status=self.status,
            used=self.used,
            unit=self.unit,
        )

    @property
    def used_fraction(self) -> float | None:
        """Share of the window used (0..1, more when over), when known."""
        return used_fraction(self.utilization, self.limit, self.used, self.remaining)

    @property
    def exhausted(self) -> bool:
        return self.as_window.exhausted


def readings_of(snapshot: QuotaSnapshot) -> list[QuotaReading]:
    """The rows of one snapshot: one per window (a rate-limited snapshot without windows: one row of the
    `retry-after` window, reset when the wait is over)."""
    common: dict[str, Any] = {
        "provider": snapshot.provider,
        "account": snapshot.account,
        "observed_at": snapshot.observed_at,
        "source": snapshot.source,
        "status_code": snapshot.status_code,
        "retry_after": snapshot.retry_after,
        "model": snapshot.model,
    }
    out = [
        QuotaReading(
            window=name,
            limit=w.limit,
            remaining=w.remaining,
            used=w.used,
            utilization=w.utilization,
            reset_at=w.reset_at,
            status=w.status,
            unit=w.unit,
            **common,
        )
        for name, w in sorted(snapshot.windows.items())
    ]
    if not out and (snapshot.status_code == 429 or snapshot.retry_after is not None):
        reset = (
            snapshot.observed_at + timedelta(seconds=snapshot.retry_after)
            if snapshot.retry_after is not None
            else None
        )
        status = "rate_limited" if snapshot.status_code == 429 else None
        out.append(QuotaReading(window=RETRY_WINDOW, reset_at=reset, status=status, **common))
    return out


def snapshot_of(readings: Sequence[QuotaReading]) -> QuotaSnapshot:
    """The snapshot of readings of one provider + account (the newest observation's status and wait)."""
    newest = max(readings, key=lambda r: r.observed_at)
    return QuotaSnapshot(
        provider=newest.provider,
        account=newest.account,
        observed_at=newest.observed_at,
        windows={r.window: r.as_window for r in readings if r.window != RETRY_WINDOW or r.status},
        model=newest.model,
        status_code=newest.status_code,
        retry_after=newest.retry_after,
        source=newest.source,
    )


def latest_per_window(readings: Iterable[QuotaReading]) -> list[QuotaReading]:
    """The newest reading of each (provider, account, window), sorted by those."""
    newest: dict[tuple[str, str, str], QuotaReading] = {}
    for reading in readings:
        key = (reading.provider, reading.account, reading.window)
        old = newest.get(key)
        if old is None or old.observed_at <= reading.observed_at:
            newest[key] = reading
    return [newest[k] for k in sorted(newest)]


class QuotaStore(Protocol):
    """Where quota readings are kept, a time series per provider + account + window."""

    def append(self, readings: Sequence[QuotaReading]) -> None:
        """Keep readings (the same reading twice is kept once)."""
        ...

    def history(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        window: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[QuotaReading]:
        """Readings in `since <= observed_at < until`, oldest first."""
        ...

    def latest_readings(
        self, *, provider: str | None = None, account: str | None = None, since: datetime | None = None
    ) -> list[QuotaReading]:
        """The newest reading of each window (sorted by provider, account, window)."""
        ...

    def save(self, snapshot: QuotaSnapshot) -> None:
        """Append a snapshot's readings."""
        ...

    def latest(self, provider: str, account: str | None = None) -> QuotaSnapshot | None:
        """The newest reading of each window of a provider's account (None: its newest account)."""
        ...

    def all(self, *, provider: str | None = None, account: str | None = None) -> list[QuotaSnapshot]:
        """One snapshot per provider + account."""
        ...


class _Snapshots:
    """`save` / `latest` / `all` in terms of readings, for every store."""

    def append(self, readings: Sequence[QuotaReading]) -> None:
        raise NotImplementedError

    def latest_readings(
        self, *, provider: str | None = None, account: str | None = None, since: datetime | None = None
    ) -> list[QuotaReading]:
        raise NotImplementedError

    def save(self, snapshot: QuotaSnapshot) -> None:
        """Append a snapshot's readings."""
        self.append(readings_of(snapshot))

    def latest(self, provider: str, account: str | None = None) -> QuotaSnapshot | None:
        """The newest reading of every window of a provider (and account: default all accounts, newest)."""
        found = self.all(provider=provider, account=account)
        if not found:
            return None
        return max(found, key=lambda s: s.observed_at)

    def all(self, *, provider: str | None = None, account: str | None = None) -> list[QuotaSnapshot]:
        """One snapshot per provider + account: the newest reading of each of its windows."""
        groups: dict[tuple[str, str], list[QuotaReading]] = {}
        for reading in self.latest_readings(provider=provider, account=account):
            groups.setdefault((reading.provider, reading.account), []).append(reading)
        return [snapshot_of(groups[key]) for key in sorted(groups)]


class MemoryQuotaStore(_Snapshots):
    """A QuotaStore in memory (for `MemoryLedger` and tests)."""

    def __init__(self) -> None:
        self._rows: list[QuotaReading] = []
        self._seen: set[QuotaReading] = set()
        self._lock = ForkSafeLock()

    def append(self, readings: Sequence[QuotaReading]) -> None:
        with self._lock:
            for reading in readings:
                if reading not in self._seen:
                    self._seen.add(reading)
                    self._rows.append(reading)

    def history(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        window: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[QuotaReading]:
        with self._lock:
            rows = list(self._rows)
        out = [
            r
            for r in rows
            if (provider is None or r.provider == provider)
            and (account is None or r.account == account)
            and (window is None or r.window == window)
            and (since is None or r.observed_at >= since)
            and (until is None or r.observed_at < until)
        ]
        return sorted(out, key=lambda r: (r.observed_at, r.provider, r.account, r.window))

    def latest_readings(
        self, *, provider: str | None = None, account: str | None = None, since: datetime | None = None
    ) -> list[QuotaReading]:
        return latest_per_window(self.history(provider=provider, account=account, since=since))


class LazyQuotaStore(_Snapshots):
    """A `QuotaStore` found on first use (`open()`), so nothing is opened before a reading is read or
    written."""

    def __init__(self, open: Callable[[], QuotaStore]) -> None:
        self._open = open
        self._store: QuotaStore | None = None

    def _resolve(self) -> QuotaStore:
        if self._store is None:
            self._store = self._open()
        return self._store

    def append(self, readings: Sequence[QuotaReading]) -> None:
        self._resolve().append(readings)

    def history(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        window: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[QuotaReading]:
        return self._resolve().history(
            provider=provider, account=account, window=window, since=since, until=until
        )

    def latest_readings(
        self, *, provider: str | None = None, account: str | None = None, since: datetime | None = None
    ) -> list[QuotaReading]:
        return self._resolve().latest_readings(provider=provider, account=account, since=since)
