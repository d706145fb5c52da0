"""What is used of a plan's windows at one moment, pure: the window's bounds, the provider's newest reading
and the ledger's counts in -> used, limit, percent, reset and the pace projected to the reset.

A window's use comes from the provider's reading when the window names one and that reading is current
(taken inside the window, and its reset not passed: a reading whose reset has passed says 0 % used), else
from the ledger's counts of the plan's events in the window (`requests` and `messages` count requests,
`tokens` every token, `usd` the cost at API prices). A `percent` window without a current reading is
unknown.

Projection at reset (the pace): `used * length / elapsed` for a window with a known start and end (fixed
windows; rolling windows whose reading says when they reset, their start being that reset minus their
length). A rolling window counted from the ledger has no reset to project to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from costwarden.core.quota_percent import fraction_now, is_current, percent_of, share_of
from costwarden.quotas.learned import LearnedCap
from costwarden.quotas.plans import SubscriptionConfig, WindowConfig
from costwarden.storage.ledger import Totals
from costwarden.storage.quotas import QuotaReading

__all__ = ["WindowUsage", "PlanUsage", "window_bounds", "window_usage", "counted_amount"]

_UNITS = Decimal(10**10)


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """One window of one plan at `at`."""

    window: WindowConfig
    start: datetime | None
    end: datetime | None
    source: str
    """`reading` (the provider said), `ledger` (counted), or `unknown`."""
    used: Decimal | None
    """In the window's unit (USD for `usd`); None for a percent window."""
    limit: Decimal | None
    percent: Decimal | None
    reset_at: datetime | None
    projected_percent: Decimal | None
    observed_at: datetime | None = None
    exhausted: bool = False
    by_project: tuple[tuple[str, Decimal], ...] = ()
    """Ledger windows: the use per project, largest first (at most 5)."""
    learned: LearnedCap | None = None
    """The cap learned from limit hits (`costwarden.quotas.learned`), when there were any."""

    @property
    def remaining(self) -> Decimal | None:
        if self.limit is None or self.used is None:
            return None
        return max(Decimal(0), self.limit - self.used)


@dataclass(frozen=True, slots=True)
class PlanUsage:
    """One plan at `at`: its windows, and its billing period's value at API prices against its price."""

    plan: SubscriptionConfig
    at: datetime
    windows: tuple[WindowUsage, ...]
    billing_start: datetime | None
    billing_end: datetime | None
    value_usd: Decimal
    """The cost, at API prices, of the plan's events in the billing period so far."""
    requests: int
    tokens: int

    @property
    def price_usd(self) -> Decimal | None:
        return self.plan.price_usd

    @property
    def utilization(self) -> Decimal | None:
        """The highest percent used of the plan's windows (what limits it first), when any is known."""
        known = [w.percent for w in self.windows if w.percent is not None]
        return max(known) if known else None

    @property
    def exhausted(self) -> bool:
        return any(w.exhausted for w in self.windows)


def window_bounds(
    window: WindowConfig, at: datetime, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """`[start, end)` of the window holding `at` (rolling: `(at - length, None)`)."""
    zone = ZoneInfo(window.timezone) if window.timezone else tz
    return window.reset.window(at, zone)


def counted_amount(window: WindowConfig, totals: Totals) -> Decimal:
    """The ledger's use of a window in its unit."""
    if window.unit in ("requests", "messages"):
        return Decimal(totals.requests)
    if window.unit == "tokens":
        return Decimal(totals.total_tokens)
    return totals.cost


def _projection(
    percent: Decimal | None, start: datetime | None, end: datetime | None, at: datetime
) -> Decimal | None:
    if percent is None or start is None or end is None or not start < at < end:
        return None
    elapsed = (at - start).total_seconds()
    length = (end - start).total_seconds()
    if elapsed <= 0:
        return None
    return (percent * Decimal(repr(length / elapsed))).quantize(Decimal("0.1"))


def window_usage(
    window: WindowConfig,
    at: datetime,
    tz: ZoneInfo,
    *,
    reading: QuotaReading | None = None,
    totals: Totals | None = None,
    by_project: tuple[tuple[str, Decimal], ...] = (),
) -> WindowUsage:
    """The use of one window at `at` from its newest reading and/or the ledger's totals in it."""
    start, end = window_bounds(window, at, tz)
    limit = window.limit
    if window.reading is not None and reading is not None and is_current(reading.observed_at, start, at):
        reset = reading.reset_at
        fraction = fraction_now(reading.used_fraction, reset, at)
        if reset is not None and reset <= at:  # it reset since: nothing used in the new window yet
            reset = None
        if fraction is not None:
            percent = percent_of(fraction)
            used: Decimal | None = None
            if reading.limit is not None:
                limit = Decimal(reading.limit)
                if reset is None and reading.reset_at is not None:
                    used = Decimal(0)
                elif reading.used is not None:
                    used = Decimal(reading.used)
                elif reading.remaining is not None:
                    used = max(Decimal(0), limit - reading.remaining)
                else:
                    used = (limit * Decimal(repr(fraction))).quantize(Decimal(1))
                if window.unit == "usd":
                    used, limit = used / _UNITS, limit / _UNITS
            win_start, win_end = start, end
            if window.reset.kind == "rolling" and reset is not None:
                win_start, win_end = reset - timedelta(seconds=window.reset.seconds), reset
            return WindowUsage(
                window=window,
                start=start,
                end=end,
                source="reading",
                used=used,
                limit=limit,
                percent=percent,
                reset_at=reset if reset is not None else end,
                projected_percent=_projection(percent, win_start, win_end, at),
                observed_at=reading.observed_at,
                exhausted=fraction >= 1.0 or (reading.exhausted and reset is not None),
            )
    if window.unit == "percent" or totals is None:
        return WindowUsage(window, start, end, "unknown", None, limit, None, end, None)
    counted = counted_amount(window, totals)
    share = share_of(counted, limit)
    return WindowUsage(
        window=window,
        start=start,
        end=end,
        source="ledger",
        used=counted,
        limit=limit,
        percent=share,
        reset_at=end,
        projected_percent=_projection(share, start, end, at),
        exhausted=limit is not None and counted >= limit,
        by_project=by_project,
    )
