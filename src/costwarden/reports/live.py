"""Live cost: the running cost of a session, a run or today, and the tightest budget it draws on.

`statusline(status)` is the one-line form for a shell prompt (seed 004):
`[Session cost: $0.45 | 32K tokens | Budget: 85% remaining]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from costwarden.core.policy import Policy
from costwarden.core.usage import ATTRIBUTION_FIELDS, UsageEvent
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.budget_view import BudgetState, budget_lines, budget_states
from costwarden.reports.formats import tokens, usd
from costwarden.reports.model import BudgetLine
from costwarden.reports.periods import named_period
from costwarden.storage.ledger import EventQuery, Totals

__all__ = ["LiveStatus", "live_status", "statusline", "event_values"]


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """What `costwarden watch` shows at one moment."""

    label: str
    scope: tuple[str, str] | None
    totals: Totals
    last_event: UsageEvent | None
    budgets: list[BudgetLine]
    at: datetime

    @property
    def tightest(self) -> BudgetLine | None:
        """The applicable budget with the least remaining (by percent)."""
        return min(self.budgets, key=lambda b: (b.percent_remaining, b.name), default=None)


def event_values(event: UsageEvent) -> dict[str, str | None]:
    """The fields budgets match on, for one event."""
    values: dict[str, str | None] = {name: getattr(event.attribution, name) for name in ATTRIBUTION_FIELDS}
    values.update({f"tag:{k}": v for k, v in event.attribution.tags.items()})
    values["provider"] = event.provider
    values["model"] = event.model
    return values


def live_status(
    aggregator: Aggregator,
    policies: Sequence[Policy],
    now: datetime,
    tz: ZoneInfo,
    *,
    session: str | None = None,
    run: str | None = None,
    live: Mapping[tuple[str, str], int] | None = None,
) -> LiveStatus:
    """The running cost of a session or run (all its events), or of today when neither is given; `live`
    (the budget engine's calls or runs in flight, `budget_view.live_counts`) adds concurrency limits."""
    if session is not None:
        scope: tuple[str, str] | None = ("session", session)
        query = EventQuery(where={"session": session})
        label = "Session cost"
    elif run is not None:
        scope = ("run", run)
        query = EventQuery(where={"run": run})
        label = "Run cost"
    else:
        scope = None
        today = named_period("today", now, tz)
        query = EventQuery(start=today.start, end=today.end)
        label = "Today"
    totals = aggregator.total(query)
    last = next(iter(aggregator.ledger.events(query, limit=1, newest_first=True)), None)
    values = None
    if scope is not None:
        values = event_values(last) if last is not None else {scope[0]: scope[1]}
    states: list[BudgetState] = (
        budget_states(aggregator, policies, now, tz, values=values) if policies else []
    )
    return LiveStatus(label, scope, totals, last, budget_lines(states, now, live), now)


def statusline(status: LiveStatus) -> str:
    """`[Session cost: $0.45 | 32K tokens | Budget: 85% remaining]` (the budget part only with budgets)."""
    parts = [f"{status.label}: {usd(status.totals.cost)}", f"{tokens(status.totals.total_tokens)} tokens"]
    tight = status.tightest
    if tight is not None:
        remaining = tight.percent_remaining.quantize(Decimal(1))
        parts.append(f"Budget: {remaining}% remaining")
    return "[" + " | ".join(parts) + "]"
