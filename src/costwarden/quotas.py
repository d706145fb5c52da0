"""The latest known rate-limit quota of each provider, read from the response headers of real calls.

OpenAI sends `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets as durations such as
`6m0s`); Anthropic sends `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,
reset}` (resets as RFC 3339 times) and, for subscription plans, `anthropic-ratelimit-unified-*` windows
with a utilization. Both may send `retry-after`.

`Quotas.observe(...)` keeps the newest snapshot per provider in memory and writes it to the store at most
once per `persist_interval` seconds per provider, at once when a window runs low (<= 10 % left) or the
call was rate limited (HTTP 429), and on `flush()`.
"""

from __future__ import annotations

import contextlib
import re
import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from costwarden.clock import Clock, clock_from_env, default_now
from costwarden.forking import ForkSafeLock
from costwarden.storage.quotas import MemoryQuotaStore, QuotaSnapshot, QuotaStore, QuotaWindow

__all__ = [
    "Quotas",
    "parse_quota_headers",
    "parse_duration",
    "ratelimit_headers",
]

_OPENAI = re.compile(r"^x-ratelimit-(limit|remaining|reset)-(.+)$")
_ANTHROPIC = re.compile(r"^anthropic-ratelimit-(.+)-(limit|remaining|reset|utilization|status)$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def ratelimit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The rate-limit related headers of a response, names lower-cased."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low.startswith(("x-ratelimit-", "anthropic-ratelimit-")) or low in (
            "retry-after",
            "retry-after-ms",
        ):
            out[low] = value
    return out


def parse_duration(text: str) -> timedelta | None:
    """OpenAI's reset durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`; a bare number is seconds."""
    text = text.strip()
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return timedelta(seconds=sum(float(n) * scale[u] for n, u in parts))


def _parse_time(text: str, now: datetime) -> datetime | None:
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        # epoch seconds (unified windows) vs. a small count of seconds from now
        return datetime.fromtimestamp(number, UTC) if number > 10**9 else now + timedelta(seconds=number)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        delta = parse_duration(text)
        return now + delta if delta is not None else None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


def parse_quota_headers(
    provider: str,
    headers: Mapping[str, str],
    *,
    now: datetime | None = None,
    model: str | None = None,
    status_code: int | None = None,
) -> QuotaSnapshot | None:
    """A snapshot from a response's headers, or None when they carry no rate-limit information."""
    raw = ratelimit_headers(headers)
    if not raw:
        return None
    at = now or default_now()
    fields: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if match := _OPENAI.match(name):
            kind, window = match.groups()
            slot = fields.setdefault(window, {})
            if kind == "reset":
                delta = parse_duration(value)
                slot["reset_at"] = at + delta if delta is not None else _parse_time(value, at)
            else:
                slot[kind] = _int(value)
        elif match := _ANTHROPIC.match(name):
            window, kind = match.groups()
            slot = fields.setdefault(window, {})
            if kind == "reset":
                slot["reset_at"] = _parse_time(value, at)
            elif kind == "utilization":
                with contextlib.suppress(ValueError):
                    slot["utilization"] = float(value)
            elif kind == "status":
                slot["status"] = value
            else:
                slot[kind] = _int(value)
    retry_after: float | None = None
    if "retry-after-ms" in raw:
        with contextlib.suppress(ValueError):
            retry_after = float(raw["retry-after-ms"]) / 1000
    elif "retry-after" in raw:
        try:
            retry_after = float(raw["retry-after"])
        except ValueError:
            reset = _parse_time(raw["retry-after"], at)
            retry_after = (reset - at).total_seconds() if reset else None
    windows = {name: QuotaWindow(name=name, **values) for name, values in fields.items()}
    return QuotaSnapshot(
        provider=provider,
        observed_at=at,
        windows=windows,
        model=model,
        status_code=status_code,
        retry_after=retry_after,
        headers=raw,
    )


class Quotas:
    """Latest known quota per provider, persisted to a store with a write throttle."""

    def __init__(
        self, store: QuotaStore | None = None, *, persist_interval: float = 1.0, clock: Clock | None = None
    ) -> None:
        self.store: QuotaStore = store if store is not None else MemoryQuotaStore()
        self.clock: Clock = clock if clock is not None else clock_from_env()
        """"Now" for reset times given as durations (default: `$COSTWARDEN_NOW` or the system clock)."""
        self.persist_interval = persist_interval
        self._latest: dict[str, QuotaSnapshot] = {}
        self._pending: dict[str, QuotaSnapshot] = {}
        self._persisted_at: dict[str, float] = {}
        self._lock = ForkSafeLock()
        weakref.finalize(self, _flush_pending, self.store, self._pending, self._lock)

    def observe(
        self,
        provider: str,
        headers: Mapping[str, str],
        *,
        model: str | None = None,
        status_code: int | None = None,
    ) -> QuotaSnapshot | None:
        """Read a response's headers; returns the snapshot (None when they carry no quota information)."""
        snapshot = parse_quota_headers(
            provider, headers, now=self.clock.now(), model=model, status_code=status_code
        )
        if snapshot is None:
            return None
        self.record(snapshot)
        return snapshot

    def record(self, snapshot: QuotaSnapshot) -> None:
        """Keep a snapshot as the latest of its provider (persisted per the throttle)."""
        now = time.monotonic()
        with self._lock:
            self._latest[snapshot.provider] = snapshot
            last = self._persisted_at.get(snapshot.provider)
            due = last is None or now - last >= self.persist_interval or snapshot.low
            if not due:
                self._pending[snapshot.provider] = snapshot
                return
            self._pending.pop(snapshot.provider, None)
            self._persisted_at[snapshot.provider] = now
        self.store.save(snapshot)

    def latest(self, provider: str) -> QuotaSnapshot | None:
        """The newest snapshot of a provider: this process's, else the stored one."""
        found = self._latest.get(provider)
        return found if found is not None else self.store.latest(provider)

    def all(self) -> list[QuotaSnapshot]:
        """The newest snapshot of every provider known here or in the store."""
        merged = {s.provider: s for s in self.store.all()}
        for provider, snapshot in self._latest.items():
            stored = merged.get(provider)
            if stored is None or stored.observed_at <= snapshot.observed_at:
                merged[provider] = snapshot
        return sorted(merged.values(), key=lambda s: s.provider)

    def flush(self) -> None:
        """Write snapshots held back by the throttle."""
        _flush_pending(self.store, self._pending, self._lock)


def _flush_pending(store: QuotaStore, pending: dict[str, QuotaSnapshot], lock: ForkSafeLock) -> None:
    with lock:
        items = list(pending.values())
        pending.clear()
    for snapshot in items:
        with contextlib.suppress(Exception):  # at interpreter exit the database may already be gone
            store.save(snapshot)
