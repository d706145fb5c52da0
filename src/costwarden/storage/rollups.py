"""What storage keeps of history retention folded away, as the read side sees it: the `Coverage` of the
rollups, the `RollupSource` reports read them through, and `NotResolvable` for a question they cannot
answer. The SQL rollups are `costwarden.storage.sql.rollup_store.RollupStore`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from costwarden.errors import ValidationError
from costwarden.storage.ledger import Totals, WhereValue

__all__ = ["LEVELS", "NotResolvable", "Coverage", "RollupSource"]

LEVELS: tuple[str, ...] = ("hour", "day", "month")


class NotResolvable(ValidationError):
    """The range or grouping needs detail that retention has already folded away."""

    def __init__(self, message: str) -> None:
        super().__init__("period", message)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the rollups hold. `events_before` is where retention cut the detailed events (None: never)."""

    events_before: datetime | None
    hourly_before: datetime | None = None
    daily_before: datetime | None = None
    timezone: str | None = None
    """The timezone daily and monthly rows were cut in (None: no such rows yet)."""


@runtime_checkable
class RollupSource(Protocol):
    """What reports ask of a rollup store (`costwarden.storage.sql.rollup_store.RollupStore`)."""

    def coverage(self) -> Coverage: ...

    def straddles(self, at: datetime) -> bool:
        """True when a daily or monthly row starts before `at` and ends after it."""
        ...

    def totals(
        self,
        start: datetime | None,
        end: datetime | None,
        where: Mapping[str, WhereValue],
        group_by: Sequence[str],
        tz: ZoneInfo,
    ) -> list[Totals]:
        """Sums of every row lying inside `[start, end)`; hour/day/month keys are local labels in `tz`.

        Raises `NotResolvable` when a requested time key is finer than a row in the range.
        """
        ...
