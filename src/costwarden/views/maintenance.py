"""What `costwarden maintain` reports (`costwarden.maintain/1`): the hours whose rollups differ from their
events (`rollup_check(warden)`, for `--check`), and what a retention run did (`retention_json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.errors import ConfigError
from costwarden.reports.formats import totals_json
from costwarden.reports.periods import utc_iso
from costwarden.reports.retention import RetentionResult
from costwarden.storage.ledger import Totals
from costwarden.storage.rollups import Rollups

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["MAINTAIN_SCHEMA", "RollupCheck", "rollups_of", "rollup_check", "retention_json"]

MAINTAIN_SCHEMA = "costwarden.maintain/1"


def rollups_of(warden: Warden) -> Rollups:
    """The Warden's rollups; a `ConfigError` for a backend that keeps none (a ledger in memory)."""
    store = warden.backend.rollups
    if store is None:
        raise ConfigError("this ledger keeps no rollups (an in-memory ledger)", key="database")
    return store


@dataclass(frozen=True, slots=True)
class RollupCheck:
    """Hours from the retention cut on whose hourly rollups differ from their events: `(hour, rollups,
    events)`; empty when they all agree."""

    SCHEMA: ClassVar[str] = MAINTAIN_SCHEMA

    mismatches: list[tuple[str, Totals, Totals]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "mismatched_hours": [
                {"hour": hour, "rollups": totals_json(a), "events": totals_json(b)}
                for hour, a, b in self.mismatches
            ]
        }


def rollup_check(warden: Warden) -> RollupCheck:
    return RollupCheck(rollups_of(warden).verify())


def retention_json(result: RetentionResult) -> dict[str, Any]:
    """A retention run's plan and counts, as `maintain --json` prints them after the schema id."""
    plan = result.plan

    def at(value: datetime | None) -> str | None:
        return utc_iso(value) if value is not None else None

    return {
        "dry_run": result.dry_run,
        "timezone": plan.timezone,
        "events_before": at(plan.events_before),
        "months_before": at(plan.months_before),
        "drop_before": at(plan.drop_before),
        "events_deleted": result.events_deleted,
        "hourly_rows_folded": result.hourly_folded,
        "daily_rows_folded": result.daily_folded,
        "rows_dropped": result.rows_dropped,
        "empty_rows_removed": result.empty_rows_removed,
        "notes": result.notes,
    }
