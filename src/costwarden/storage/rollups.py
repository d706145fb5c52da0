"""What storage keeps of history retention folded away: the `Coverage` of the rollups, the `RollupSource`
reports read them through, `NotResolvable` for a question they cannot answer, and `Rollups`, the whole
store a backend keeps them in (reads, retention, check and rebuild). The SQL rollups are
`costwarden.storage.sql.rollup_store.RollupStore`; what a retention run should cut is planned by
`costwarden.reports.retention`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from costwarden.errors import ValidationError
from costwarden.storage.ledger import Totals, WhereValue

__all__ = [
    "BATCH_ROWS",
    "LEVELS",
    "NotResolvable",
    "Coverage",
    "RetentionPlan",
    "RetentionCounts",
    "RollupSource",
    "Rollups",
]

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


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """The cutoffs of one retention run (None: nothing to do at that level), and the timezone day and month
    rows are cut in."""

    timezone: str
    events_before: datetime | None
    months_before: datetime | None
    drop_before: datetime | None


@dataclass(frozen=True, slots=True)
class RetentionCounts:
    """What a retention run did (or, dry, would do)."""

    events_deleted: int = 0
    hourly_folded: int = 0
    daily_folded: int = 0
    rows_dropped: int = 0
    empty_rows_removed: int = 0


BATCH_ROWS: Final = 5_000
"""How much one write transaction of a retention run does at most: delete about this many events (up to
the end of the hour holding the last one), or fold this many rollup rows (up to the end of the day or month
holding the last one; each day or month counts 50 rows more, for its statements). Other writers wait for
one batch at most, never for the whole run."""


class Rollups(RollupSource, Protocol):
    """Where a backend keeps the rollups: what reports read, and their maintenance."""

    def stats(self) -> dict[str, tuple[int, datetime | None, datetime | None]]:
        """Rows per level with the first bucket start and the last bucket end."""
        ...

    def retain(
        self, plan: RetentionPlan, *, dry_run: bool = False, batch_rows: int = BATCH_ROWS
    ) -> RetentionCounts:
        """Delete the events before `plan.events_before` (their sums stay in the hourly rows), fold hourly
        rows before it into days and daily rows before `plan.months_before` into months, forget rows before
        `plan.drop_before`, in write transactions of about `batch_rows` each (see `BATCH_ROWS`); every
        state between two of them answers every report as before. `dry_run`: the same work in one
        transaction, rolled back."""
        ...

    def rebuild(self) -> int:
        """Recompute the hourly rows from the retained events from the retention cut on; returns how many."""
        ...

    def verify(self) -> list[tuple[str, Totals, Totals]]:
        """Hours from the retention cut on whose hourly rows differ from their events: `(hour, rollups,
        events)`."""
        ...
