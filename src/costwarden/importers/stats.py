"""What an import did: lines read, malformed lines (with file and line), and the ledger's change.

The summary counts each event written as `inserted` (a new id), `replaced` (a later snapshot of a stored
message, e.g. the final output tokens of a streamed Claude Code message) or `unchanged` (already stored,
the same or an earlier snapshot), and its `cost` is the ledger's change: the cost of the inserted events
plus, for each replaced one, the new cost minus the stored one. `events` is the number of new events.
Events older than the retention horizon are refused (`older_than_retention`): reports read totals that far
back from rollups that were already folded, so they would be stored but never shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["MalformedLine", "ImportStats", "LISTED", "logger"]

LISTED = 1000
"""Malformed lines listed (and logged) per import; beyond that they are only counted."""

logger = logging.getLogger("costwarden.importers")


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """One skipped line (`line` None: the whole file) and why."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


_COUNTS = (
    "files",
    "files_read",
    "bytes_read",
    "lines",
    "malformed",
    "records",
    "inserted",
    "replaced",
    "unchanged",
    "older_than_retention",
)


@dataclass
class ImportStats:
    """What an import pass did."""

    files: int = 0
    files_read: int = 0
    bytes_read: int = 0
    lines: int = 0
    malformed: int = 0
    records: int = 0
    inserted: int = 0
    """New events (new ids) in the ledger."""
    replaced: int = 0
    """Stored events replaced by a later snapshot of the same message."""
    unchanged: int = 0
    """Events already stored (the same or an earlier snapshot): nothing written."""
    older_than_retention: int = 0
    """Events refused because they happened before `retention_horizon`."""
    retention_horizon: datetime | None = None
    cost: Decimal = Decimal(0)
    """The ledger's change: inserted events' cost plus each replacement's difference."""
    by_model: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    """Per model: new events and the ledger's change."""
    malformed_at: list[MalformedLine] = field(default_factory=list)
    """The first malformed lines (up to 1,000 per import); `malformed` counts them all."""

    @property
    def events(self) -> int:
        """New events in the ledger (`inserted`)."""
        return self.inserted

    def skip(self, file: Path | str, line: int | None, reason: object) -> None:
        """Count one malformed line (or unreadable file), list and log it."""
        self.malformed += 1
        if len(self.malformed_at) < LISTED:
            entry = MalformedLine(str(file), line, str(reason) or type(reason).__name__)
            self.malformed_at.append(entry)
            logger.warning("skipped malformed line %s", entry)
        elif self.malformed == LISTED + 1:
            logger.warning("more malformed lines: counted, not listed")

    def written(self, model: str, change: Decimal, *, new: bool) -> None:
        """Count one event written: a new id (`new`) or a replacement, changing the ledger by `change`."""
        if new:
            self.inserted += 1
        else:
            self.replaced += 1
        self.cost += change
        count, cost = self.by_model.get(model, (0, Decimal(0)))
        self.by_model[model] = (count + new, cost + change)

    def merge(self, other: ImportStats) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cost += other.cost
        if other.retention_horizon is not None:
            self.retention_horizon = other.retention_horizon
        for model, (count, cost) in other.by_model.items():
            old_count, old_cost = self.by_model.get(model, (0, Decimal(0)))
            self.by_model[model] = (old_count + count, old_cost + cost)
        self.malformed_at.extend(other.malformed_at[: max(0, LISTED - len(self.malformed_at))])
