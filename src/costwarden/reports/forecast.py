"""Where spend is going: the recent burn rate projected to the end of a period (seed 004's "Projected Total").
This is the one projection: `costwarden forecast`, `report`, `watch` and `budget status` all show it.

    rate      = use of the last `window` days / length of that window (in days)
    projected = used so far in the period + rate * days left until the period resets

The same for every unit (USD, tokens, requests). The window is never longer than the history (a fleet that
started two days ago is not averaged over a week) and never shorter than one day (one busy hour does not
become a daily rate). All money is exact Decimal, rounded half-even to the storage unit (10^-10 USD) once,
at the end; counts (tokens, requests) are rounded half-even to whole ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from costwarden.core.money import COST_UNIT

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "Outlook",
    "Projection",
    "days_between",
    "rate_window",
    "project",
]

DEFAULT_WINDOW_DAYS = 7
_SECONDS_PER_DAY = Decimal(86400)


class Outlook(StrEnum):
    """How a projection compares with its limit."""

    WITHIN = "within"  # projected to stay within the limit
    OVER = "over"  # projected to exceed the limit before the period resets
    EXCEEDED = "exceeded"  # already at or past the limit
    UNLIMITED = "unlimited"  # no cost limit to compare with


def days_between(start: datetime, end: datetime) -> Decimal:
    """Exact days (as a Decimal fraction) from `start` to `end`; 0 when `end` is not after `start`."""
    seconds = (end - start).total_seconds()
    if seconds <= 0:
        return Decimal(0)
    micro = (end - start) // timedelta(microseconds=1)
    return Decimal(micro) / (_SECONDS_PER_DAY * 1_000_000)


def rate_window(now: datetime, window_days: int, first_event: datetime | None) -> tuple[datetime, datetime]:
    """The `[start, now)` the burn rate is measured over: the last `window_days` days, cut to the history
    (starting at the first event) but at least one day long."""
    start = now - timedelta(days=window_days)
    if first_event is not None and first_event > start:
        start = min(first_event, now - timedelta(days=1))
    return start, now


def _q(amount: Decimal, whole: bool = False) -> Decimal:
    return amount.quantize(Decimal(1) if whole else COST_UNIT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Projection:
    """A period's spend so far, the recent rate and where it leads by the time the period resets."""

    spent: Decimal
    rate_per_day: Decimal
    window_days: Decimal
    days_left: Decimal
    projected: Decimal
    period_end: datetime | None
    limit: Decimal | None = None
    exhausted_at: datetime | None = None
    """When the limit is reached at the current rate (None: not within this period, or no limit)."""

    @property
    def outlook(self) -> Outlook:
        if self.limit is None:
            return Outlook.UNLIMITED
        if self.spent >= self.limit:
            return Outlook.EXCEEDED
        return Outlook.OVER if self.projected > self.limit else Outlook.WITHIN

    @property
    def remaining(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.spent

    @property
    def overshoot(self) -> Decimal:
        """How far the projection passes the limit (0 when within)."""
        if self.limit is None:
            return Decimal(0)
        return max(Decimal(0), self.projected - self.limit)

    @property
    def reduce_by_percent(self) -> Decimal:
        """How much the daily rate must fall (percent) for the projection to meet the limit."""
        if self.limit is None or self.overshoot == 0 or self.rate_per_day == 0 or self.days_left == 0:
            return Decimal(0)
        allowed = max(Decimal(0), self.limit - self.spent) / self.days_left
        cut = (1 - allowed / self.rate_per_day) * 100
        return min(Decimal(100), cut).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)


def project(
    *,
    spent: Decimal,
    recent_cost: Decimal,
    window_start: datetime,
    now: datetime,
    period_end: datetime | None,
    limit: Decimal | None = None,
    whole: bool = False,
) -> Projection:
    """Project `spent` to `period_end` at the rate of `recent_cost` over `[window_start, now)`.

    `period_end=None` (a budget that never resets) projects nothing: `projected == spent`. `whole=True` for
    counts (tokens, requests): the figures are rounded to whole units instead of 10^-10 USD.
    """
    window = days_between(window_start, now)
    rate = recent_cost / window if window > 0 else Decimal(0)
    left = days_between(now, period_end) if period_end is not None else Decimal(0)
    projected = spent + rate * left
    exhausted: datetime | None = None
    if limit is not None and rate > 0 and spent < limit and period_end is not None:
        days_to_limit = (limit - spent) / rate
        if days_to_limit <= left:
            exhausted = now + timedelta(seconds=float(days_to_limit * _SECONDS_PER_DAY))
    elif limit is not None and spent >= limit:
        exhausted = None
    return Projection(
        spent=_q(spent, whole),
        rate_per_day=_q(rate, whole),
        window_days=window.quantize(Decimal("0.01")),
        days_left=left.quantize(Decimal("0.01")),
        projected=_q(projected, whole),
        period_end=period_end,
        limit=limit,
        exhausted_at=exhausted,
    )
