"""Price epochs: the spans over which a model's rates stay the same, and the rate cards kept per epoch.

An epoch is the span between the start dates of a model's dated prices (and override dates); models with
time-of-day prices (off-peak) add which of those daily windows are active to the epoch. A model's rates
are resolved once per epoch and kept as a `RateCard`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, time

from costwarden.pricing.rates import RateCard

__all__ = ["CardBuilder", "EpochCards", "midnight", "time_of_day_micros", "windows_active"]

CardBuilder = Callable[[datetime, int], RateCard]
"""Builds the rate card in effect at a time, given that time and its epoch (0: before the first break)."""


def midnight(day: date) -> datetime:
    """00:00 UTC of `day` (start-date constraints are UTC dates)."""
    return datetime.combine(day, time(), tzinfo=UTC)


def time_of_day_micros(value: time) -> int:
    """Microseconds since 00:00 UTC of a time of day (a naive time is UTC)."""
    if value.tzinfo is not None:
        value = datetime.combine(date(1970, 1, 1), value).astimezone(UTC).time()
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def windows_active(windows: tuple[tuple[int, int], ...], at: datetime) -> int:
    """Which time-of-day windows contain `at` (a UTC datetime), as a bit mask; same rule as genai-prices."""
    now = ((at.hour * 60 + at.minute) * 60 + at.second) * 1_000_000 + at.microsecond
    mask = 0
    for start, end in windows:
        mask <<= 1
        if (start <= now < end) if start <= end else (now >= start or now < end):
            mask |= 1
    return mask


class EpochCards:
    """Everything needed to price one (provider, model, service tier) at any time."""

    __slots__ = ("breaks", "build", "cards", "known", "names", "single", "time_of_day")

    def __init__(
        self,
        build: CardBuilder,
        *,
        known: bool,
        names: tuple[str, str],
        breaks: tuple[datetime, ...] = (),
        time_of_day: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.build = build
        self.known = known
        self.names = names
        """The canonical (provider, model) of the call: the catalog's ids, a custom or local model's
        configured names, or for an unknown model the provider (normalised) and model as given."""
        self.breaks = breaks
        self.time_of_day = time_of_day
        self.cards: dict[Hashable, RateCard] = {}
        self.single: RateCard | None = None

    def card_at(self, at: datetime) -> RateCard:
        """The rate card in effect at `at` (a UTC datetime), built on first use of its epoch."""
        single = self.single
        if single is not None:
            return single
        breaks = self.breaks
        if not breaks and not self.time_of_day:
            self.single = single = self.build(at, 0)
            return single
        epoch = bisect_right(breaks, at) if breaks else 0
        key: Hashable = epoch
        if self.time_of_day:
            key = (epoch, windows_active(self.time_of_day, at))
        card = self.cards.get(key)
        if card is None:
            card = self.cards[key] = self.build(at, epoch)
        return card
