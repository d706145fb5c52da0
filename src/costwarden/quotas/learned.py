"""A plan's effective cap, learned from limit hits: what the ledger counted in a window when the provider
said it was exhausted.

For each limit hit of a provider account (a Claude Code "limit reached" line, a window at 100 %, a 429)
that applies to a window (the window's `reading` names the hit's window, the hit names none, or the hit's
window has the window's length: `unified-5h` for a 5-hour window), the plan's events in the window's span
before the hit are counted in its unit: one observation of the cap. Hits inside a window already observed
count once (the first hit of each block). The estimate is the median of the observations (a hit is the
cap reached, not a sample of usage below it); the range is their minimum and maximum; the confidence is
`high` with 5 observations or more whose spread (max - min) / median is at most 25 %, `medium` with 2 or
more (or a wider spread), `low` with one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from costwarden.core.periods import format_duration
from costwarden.quotas.plans import WindowConfig
from costwarden.storage.quotas import QuotaReading

__all__ = ["LearnedCap", "learned_cap", "applies_to"]


@dataclass(frozen=True, slots=True)
class LearnedCap:
    estimate: Decimal
    low: Decimal
    high: Decimal
    observations: int
    confidence: str


def applies_to(hit: QuotaReading, window: WindowConfig) -> bool:
    """Whether a limit hit says something about `window`'s cap."""
    if window.reading is not None and hit.window == window.reading:
        return True
    if hit.window in ("limit", "retry-after"):
        return True
    if window.reset.kind == "rolling":
        return hit.window == f"unified-{format_duration(window.reset.seconds)}"
    return False


def learned_cap(observations: list[Decimal]) -> LearnedCap | None:
    """The estimate from the usage observed at each hit (None without observations)."""
    values = sorted(v for v in observations if v > 0)
    if not values:
        return None
    middle = Decimal(median(values))
    spread = (values[-1] - values[0]) / middle if middle else Decimal(0)
    if len(values) >= 5 and spread <= Decimal("0.25"):
        confidence = "high"
    elif len(values) >= 2:
        confidence = "medium"
    else:
        confidence = "low"
    return LearnedCap(middle, values[0], values[-1], len(values), confidence)
