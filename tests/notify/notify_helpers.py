"""Helpers of the notification tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from costwarden import Warden
from costwarden.clock import SYSTEM_CLOCK

WardenFactory = Callable[..., Warden]


class MovingClock:
    """The deliverer's wall clock for tests: the system's, moved forward by `advance` (no sleeping
    through backoffs)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def now(self) -> datetime:
        return SYSTEM_CLOCK.now() + timedelta(seconds=self.offset)

    def __call__(self) -> float:
        return SYSTEM_CLOCK() + self.offset


def spend(warden: Warden, dollars_tenths: int = 3) -> None:
    """Record calls of $0.10 each (gpt-4o: 40,000 input tokens at $2.50 per million)."""
    for _ in range(dollars_tenths):
        warden.record(provider="openai", model="gpt-4o", input_tokens=40_000, output_tokens=0)
