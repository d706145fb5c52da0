"""The running cost of a session, a run or today, and the budgets it draws on, at one moment.
`live_view(warden, LiveQuery(...))` answers `costwarden watch` (one refresh); `LiveResult.to_json()` is
`costwarden.watch/2` and `LiveResult.statusline` the one line for a shell prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.budget_view import live_counts, policies_of
from costwarden.reports.formats import budget_json, totals_json
from costwarden.reports.live import LiveStatus, live_status, statusline
from costwarden.reports.periods import utc_iso
from costwarden.views.errors import QueryError
from costwarden.views.reader import aggregator_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["WATCH_SCHEMA", "LiveQuery", "LiveResult", "live_view"]

WATCH_SCHEMA = "costwarden.watch/2"


@dataclass(frozen=True, slots=True)
class LiveQuery:
    """One session or one run (all of its events); neither: today."""

    session: str | None = None
    run: str | None = None


@dataclass(frozen=True, slots=True)
class LiveResult:
    SCHEMA: ClassVar[str] = WATCH_SCHEMA

    status: LiveStatus

    @property
    def statusline(self) -> str:
        """`[Session cost: $0.45 | 32K tokens | Budget: 85% remaining]`."""
        return statusline(self.status)

    def to_json(self) -> dict[str, Any]:
        status = self.status
        return {
            "schema": WATCH_SCHEMA,
            "at": utc_iso(status.at),
            "scope": dict([status.scope]) if status.scope else {},
            "totals": totals_json(status.totals),
            "budgets": [budget_json(b) for b in status.budgets],
            "statusline": self.statusline,
        }


def live_view(warden: Warden, query: LiveQuery) -> LiveResult:
    """The status at the Warden's "now", from one new snapshot of the ledger (a watcher asks again per
    refresh)."""
    if query.session is not None and query.run is not None:
        raise QueryError("choose --session or --run, not both")
    aggregator = aggregator_of(warden)
    with aggregator.snapshot():
        return LiveResult(
            live_status(
                aggregator,
                policies_of(warden.settings, warden),
                warden.clock.now(),
                warden.settings.tz,
                session=query.session,
                run=query.run,
                live=live_counts(warden.budgets),
            )
        )
