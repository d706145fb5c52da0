"""Cost over time: one row per local day, week or month of a period (default: the last 30 days).
`trends(warden, TrendsQuery(...))` answers `costwarden trends`; `TrendsResult.to_json()` is
`costwarden.trends/1`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.charts import series
from costwarden.reports.formats import money, period_json, rows_csv, totals_json
from costwarden.reports.periods import Period
from costwarden.storage.ledger import EventQuery, Totals, WhereValue
from costwarden.views.basis import Basis, basis_of
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["TRENDS_SCHEMA", "INTERVALS", "STACKS", "TrendsQuery", "TrendsResult", "trends"]

TRENDS_SCHEMA = "costwarden.trends/1"
INTERVALS: tuple[str, ...] = ("day", "week", "month")
STACKS: tuple[str, ...] = ("project", "agent", "model", "provider", "user")
"""What each day's cost can be split by (`stack`, daily rows only)."""


@dataclass(frozen=True, slots=True)
class TrendsQuery:
    """One row per `interval` (`day`, `week` or `month`) of the period (default the last 30 days)."""

    interval: str = "day"
    period: PeriodFlags = NO_PERIOD
    where: Mapping[str, WhereValue] = field(default_factory=dict)
    stack: str | None = None
    """Also split each day by this field (one of `STACKS`): `TrendsResult.stacks`."""


@dataclass(frozen=True, slots=True)
class TrendsResult:
    """Every interval of the period in time order (empty intervals included), and their total."""

    SCHEMA: ClassVar[str] = TRENDS_SCHEMA

    interval: str
    period: Period
    rows: list[Totals]
    basis: Basis | None = None
    stack: str | None = None
    stacks: list[Totals] = field(default_factory=list)
    """With `stack`: one row per day and value of the stack field that spent anything (key: day, value),
    days in order, then cost descending."""

    @property
    def total(self) -> Decimal:
        return sum((r.cost for r in self.rows), start=Decimal(0))

    @property
    def average(self) -> Decimal:
        """The total per interval."""
        return self.total / max(1, len(self.rows))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": TRENDS_SCHEMA,
            "period": period_json(self.period),
            "interval": self.interval,
            "total_cost": money(self.total),
            "rows": [{self.interval: r.key[0], **totals_json(r)} for r in self.rows],
            "basis": None if self.basis is None else self.basis.to_json(),
            **(
                {
                    "stack": self.stack,
                    "stacks": [
                        {self.interval: r.key[0], self.stack: r.key[1], **totals_json(r)} for r in self.stacks
                    ],
                }
                if self.stack is not None
                else {}
            ),
        }

    def to_csv(self) -> str:
        if self.stack is not None:
            return rows_csv(self.stacks, (self.interval, self.stack))
        return rows_csv(self.rows, (self.interval,))


def trends(warden: Warden, query: TrendsQuery) -> TrendsResult:
    """The period's cost per interval, from one snapshot of the ledger."""
    if query.interval not in INTERVALS:
        raise QueryError(f"unknown interval {query.interval!r}; choose {', '.join(INTERVALS)}", "--interval")
    if query.stack is not None:
        if query.stack not in STACKS:
            raise QueryError(f"cannot stack by {query.stack!r}; choose {', '.join(STACKS)}", "--stack")
        if query.interval != "day":
            raise QueryError("a stack splits daily rows only (interval day)", "--stack")
    period = query.period.resolve(warden.settings.tz, default="last-30-days", at=warden.clock.now())
    aggregator = aggregator_of(warden)
    every = EventQuery(start=period.start, end=period.end, where=filters_of(warden, query.where))
    by = ("month",) if query.interval == "month" else ("day",)  # old months may be kept only as months
    with aggregator.snapshot():
        rows = series(aggregator.totals(every, by), period, query.interval)
        basis = basis_of(warden, aggregator, every, min(warden.clock.now(), period.end))
        stacks = (
            [r for r in aggregator.totals(every, ("day", query.stack)) if r.events] if query.stack else []
        )
    return TrendsResult(query.interval, period, rows, basis, query.stack, stacks)
