"""Which counters a call reserves on and an event counts on: budget, scope value(s), period instance.

Counter keys are `budget|scope|period`: `daily||d:2026-11-23T00:00`, `per-project|project=web|m:...`,
rolling buckets `r600:2992374`, `total`, and `live` for in-flight concurrency (which no period resets).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from costwarden.core.admission import Amounts, Need, counter_key
from costwarden.core.money import to_units
from costwarden.core.periods import Period, PeriodKind, Window
from costwarden.core.policy import Applied, Limits
from costwarden.core.usage import UsageEvent
from costwarden.storage.budgets import Spend

__all__ = ["LIVE", "CounterKeys"]

LIVE = "live"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CounterKeys:
    """Windows (cached until they end) and the counter keys of needs and spends, in one timezone."""

    def __init__(self, tz: Any) -> None:
        self.tz = tz
        self._windows: dict[Period, tuple[Window, float]] = {}

    def window(self, period: Period, now: float) -> Window:
        cached = self._windows.get(period)
        if cached is not None and now < cached[1]:
            return cached[0]
        at = datetime.fromtimestamp(now, UTC)
        window = period.window(at, self.tz)
        if period.kind is PeriodKind.ROLLING:
            size = period.bucket_seconds
            valid = (now // size + 1) * size
        elif window.end is not None:
            valid = window.end.timestamp()
        else:
            valid = float("inf")
        self._windows[period] = (window, valid)
        return window

    def span(self, period: Period, key: str) -> tuple[datetime | None, datetime | None]:
        """The time range `[start, end)` an event must fall in to count under the period instance `key`
        (None: open-ended; `total` and `run` are all of time)."""
        if period.kind in (PeriodKind.TOTAL, PeriodKind.RUN):
            return None, None
        if period.kind is PeriodKind.ROLLING:
            size = period.bucket_seconds
            start = _EPOCH + timedelta(seconds=int(key.rpartition(":")[2]) * size)
            return start, start + timedelta(seconds=size)
        start = datetime.strptime(key[2:], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
        return start, period.window(start, self.tz).end

    def needs(self, applied: Sequence[Applied], amounts: Amounts, now: float) -> list[Need]:
        """One need per applied budget on its current window (rolling: deciding on every bucket), plus
        one on the period-free `live` counter for a concurrency limit."""
        out: list[Need] = []
        for item in applied:
            policy = item.policy
            limits = item.limits
            if limits.concurrent is not None:
                live = counter_key(policy.id, item.scope_key, LIVE)
                window = Window(LIVE, None, None, (LIVE,))
                out.append(
                    Need(
                        Applied(policy, item.scope_key, Limits(concurrent=limits.concurrent)),
                        live,
                        (live,),
                        window,
                        Amounts(concurrent=1),
                    )
                )
                if limits.cost is None and limits.tokens is None and limits.requests is None:
                    continue
                item = Applied(policy, item.scope_key, Limits(limits.cost, limits.tokens, limits.requests))  # noqa: PLW2901
            window = self.window(policy.period, now)
            key = counter_key(policy.id, item.scope_key, window.key)
            keys = (
                (key,)
                if len(window.keys) == 1
                else tuple(counter_key(policy.id, item.scope_key, k) for k in window.keys)
            )
            out.append(Need(item, key, keys, window, Amounts(amounts.cost, amounts.tokens, amounts.requests)))
        return out

    def spends(
        self, applied: Sequence[Applied], event: UsageEvent, sign: int, now: float, current_only: bool = False
    ) -> list[Spend]:
        """What an event counts on each applied budget: the counter of the period it occurred in (a late
        event lands in its own period). `current_only`: only counters of the current windows."""
        usage = event.usage
        amounts = Amounts(sign * to_units(event.cost_total), sign * usage.total_tokens, sign * usage.requests)
        at = event.occurred_at
        out: list[Spend] = []
        for item in applied:
            limits = item.limits
            if limits.cost is None and limits.tokens is None and limits.requests is None:
                continue
            period = item.policy.period
            window = self.window(period, now)
            if period.kind is PeriodKind.ROLLING:
                bucket = period.bucket_key(at, self.tz)
                keys = tuple(counter_key(item.policy.id, item.scope_key, k) for k in window.keys)
                if current_only and bucket not in window.keys:
                    continue
            else:
                bucket = window.key if window.contains(at) else period.bucket_key(at, self.tz)
                keys = ()
                if current_only and bucket != window.key:
                    continue
            out.append(
                Spend(counter_key(item.policy.id, item.scope_key, bucket), amounts, item, bucket, keys)
            )
        return out
