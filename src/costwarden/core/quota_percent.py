"""How full a quota window is, in percent: the arithmetic `costwarden.quotas.usage` and the statusline's
fast way share, on plain values (the standard library only, no config models or storage).

- a reading's share used: its utilization, else used (or limit - remaining) over its limit;
- a provider's reading counts when it is current: taken at or before "now" and inside the window (a
  rolling window: within its length before now);
- a reading whose reset has passed says 0 % (nothing used in the new window yet);
- a window counted from the ledger is its use over its limit.

Percentages keep one decimal (`42.5`), rounded half-even.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

__all__ = ["used_fraction", "is_current", "fraction_now", "percent_of", "share_of"]

_HUNDRED = Decimal(100)
_TENTH = Decimal("0.1")


def used_fraction(
    utilization: float | None, limit: int | None, used: int | None, remaining: int | None
) -> float | None:
    """Share of a window used (0..1, more when over) by what a reading says, when it says enough."""
    if utilization is not None:
        return utilization
    if limit:
        if used is not None:
            return used / limit
        if remaining is not None:
            return max(0.0, (limit - remaining) / limit)
    return None


def is_current(observed_at: datetime, start: datetime | None, at: datetime) -> bool:
    """Whether a reading taken at `observed_at` speaks for the window starting at `start`, at `at`."""
    if observed_at > at:
        return False
    return start is None or observed_at >= start


def fraction_now(fraction: float | None, reset_at: datetime | None, at: datetime) -> float | None:
    """The share used at `at` of a current reading that said `fraction`: 0 once its reset has passed."""
    if reset_at is not None and reset_at <= at:
        return 0.0
    return fraction


def percent_of(fraction: float) -> Decimal:
    """A share used (0..1, more when over) as a percentage with one decimal."""
    return (Decimal(repr(fraction)) * _HUNDRED).quantize(_TENTH)


def share_of(used: Decimal, limit: Decimal | None) -> Decimal | None:
    """What a counted window has used of its limit, in percent (None without a limit or with a zero one)."""
    return (used / limit * _HUNDRED).quantize(_TENTH) if limit else None
