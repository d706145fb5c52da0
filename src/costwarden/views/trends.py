"""Cost over time: one row per local hour (periods of up to 7 days), day, week or month of a period
(default: the last 30 days).
`trends(warden, TrendsQuery(...))` answers `costwarden trends`; `TrendsResult.to_json()` is
`costwarden.trends/1`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from costwarden.reports.charts import series
from costwarden.reports.formats import money, period_json, rows_csv, totals_json
from costwarden.reports.periods import Period, local_bucket
from costwarden.storage.ledger import EventQuery, Totals, WhereValue
from costwarden.storage.totals import empty_totals
from costwarden.views.basis import Basis, basis_of
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["TRENDS_SCHEMA", "INTERVALS", "STACKS", "TrendsQuery", "TrendsResult", "trends"]

TRENDS_SCHEMA = "costwarden.trends/1"
INTERVALS: tuple[str, ...] = ("hour", "day", "week", "month")
MAX_HOURLY = timedelta(days=7)
"""The longest period `hour` rows are given for."""
STACKS: tuple[str, ...] = ("project", "agent", "model", "provider", "user")
"""What each day's (or hour's) cost can be split by (`stack`, daily and hourly rows only)."""


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


def hourly(rows_by_hour: list[Totals], period: Period, tz: ZoneInfo) -> list[Totals]:
    """Rows keyed by local hour (`YYYY-MM-DDTHH`), one per local hour of the period in time order (zeros
    where nothing was spent; an hour that repeats when clocks go back is one row)."""
    summed = {row.key: row for row in rows_by_hour}
    out: list[Totals] = []
    seen: set[str] = set()
    at = period.start
    while at < period.end:
        label = local_bucket(at, "hour", tz)
        if label not in seen:
            seen.add(label)
            out.append(summed.get((label,), empty_totals((label,))))
        at += timedelta(hours=1)
    return out


def trends(warden: Warden, query: TrendsQuery) -> TrendsResult:
    """The period's cost per interval, from one snapshot of the ledger."""
    if query.interval not in INTERVALS:
        raise QueryError(f"unknown interval {query.interval!r}; choose {', '.join(INTERVALS)}", "--interval")
    if query.stack is not None:
        if query.stack not in STACKS:
            raise QueryError(f"cannot stack by {query.stack!r}; choose {', '.join(STACKS)}", "--stack")
        if query.interval not in ("hour", "day"):
            raise QueryError("a stack splits daily or hourly rows only (interval day or hour)", "--stack")
    tz = warden.settings.tz
    period = query.period.resolve(tz, default="last-30-days", at=warden.clock.now())
    if query.interval == "hour" and (period.is_unbounded or period.end - period.start > MAX_HOURLY):
        raise QueryError("hourly rows are for periods of at most 7 days", "--interval")
    aggregator = aggregator_of(warden)
    every = EventQuery(start=period.start, end=period.end, where=filters_of(warden, query.where))
    by = ("month",) if query.interval == "month" else ("day",)  # old months may be kept only as months
    bucket = "hour" if query.interval == "hour" else "day"
    with aggregator.snapshot():
        if query.interval == "hour":
            rows = hourly(aggregator.totals(every, ("hour",)), period, tz)
        else:
            rows = series(aggregator.totals(every, by), period, query.interval)
        basis = basis_of(warden, aggregator, every, min(warden.clock.now(), period.end))
        stacks = []
        if query.stack is not None:
            stacks = [r for r in aggregator.totals(every, (bucket, query.stack)) if r.events]
    return TrendsResult(query.interval, period, rows, basis, query.stack, stacks)
