"""One plan in detail (seed 002's plan status): what it cost, its tokens, calls and runs, by model and by
agent, and where the budgets that apply to it stand (limit, spent, remaining). `plan_view(warden,
PlanQuery(...))` answers `costwarden report --plan ID`; `PlanResult.to_json()` is `costwarden.plan/1`.

The budgets shown are those a call of the plan is counted against: budgets per plan (this plan's limit,
also before it has spent anything), budgets naming this plan, and global budgets without filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.formats import period_json, totals_json
from costwarden.reports.periods import Period, utc_iso
from costwarden.storage.ledger import EventQuery, Totals
from costwarden.views.basis import Basis, basis_of
from costwarden.views.budget_status import BudgetStatusRow
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["PLAN_SCHEMA", "PlanQuery", "PlanResult", "plan_view"]

PLAN_SCHEMA = "costwarden.plan/1"


@dataclass(frozen=True, slots=True)
class PlanQuery:
    """The plan's id and the period (default: all time)."""

    plan: str
    period: PeriodFlags = NO_PERIOD


@dataclass(frozen=True, slots=True)
class PlanResult:
    """The plan's sums, its rows by model and by agent, and its budgets' rows (each limit in its unit)."""

    SCHEMA: ClassVar[str] = PLAN_SCHEMA

    plan: str
    period: Period
    totals: Totals
    runs: int
    sessions: int
    by_model: list[Totals]
    by_agent: list[Totals]
    first_at: datetime | None
    last_at: datetime | None
    basis: Basis
    budgets: list[BudgetStatusRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": PLAN_SCHEMA,
            "plan": self.plan,
            "period": period_json(self.period),
            "totals": totals_json(self.totals),
            "runs": self.runs,
            "sessions": self.sessions,
            "first_at": None if self.first_at is None else utc_iso(self.first_at),
            "last_at": None if self.last_at is None else utc_iso(self.last_at),
            "by_model": [{"provider": r.key[0], "model": r.key[1], **totals_json(r)} for r in self.by_model],
            "by_agent": [{"agent": r.key[0], **totals_json(r)} for r in self.by_agent],
            "budgets": [row.to_json() for row in self.budgets],
            "basis": self.basis.to_json(),
        }


def _budget_rows(warden: Warden, plan: str, now: datetime) -> list[BudgetStatusRow]:
    from costwarden.budgets.engine import BudgetEngine
    from costwarden.budgets.status import budget_status
    from costwarden.views.scoped_budgets import scope_rows

    engine = warden.budgets
    if not isinstance(engine, BudgetEngine):
        return []
    statuses = budget_status(engine, now)
    rows = scope_rows(engine, statuses, "plan", plan, now)
    for status in statuses:
        policy = status.policy
        if policy.per:
            continue
        named = dict(policy.match)
        if not policy.match or ("plan" in named and plan in named["plan"]):
            rows.append(status)  # global budgets, and budgets naming this plan
    return [BudgetStatusRow(row, None) for row in rows]


def plan_view(warden: Warden, query: PlanQuery) -> PlanResult:
    """The plan over the period (default all time) from one snapshot of the ledger, with its budgets now."""
    now = warden.clock.now()
    period = query.period.resolve(warden.settings.tz, default="all", at=now)
    aggregator = aggregator_of(warden)
    every = EventQuery(start=period.start, end=period.end, where={"plan": query.plan})
    with aggregator.snapshot():
        totals = aggregator.total(every)
        runs = sum(1 for r in aggregator.totals(every, ("run",)) if r.key[0] is not None)
        sessions = sum(1 for r in aggregator.totals(every, ("session",)) if r.key[0] is not None)
        by_model = aggregator.totals(every, ("provider", "model"))
        by_agent = aggregator.totals(every, ("agent",))
        hours = [r.key[0] for r in aggregator.totals(every, ("hour",)) if r.key[0] is not None]
        basis = basis_of(warden, aggregator, every, min(now, period.end))
    first = datetime.fromisoformat(f"{min(hours)}:00+00:00") if hours else None
    last = datetime.fromisoformat(f"{max(hours)}:00+00:00") if hours else None
    return PlanResult(
        plan=query.plan,
        period=period,
        totals=totals,
        runs=runs,
        sessions=sessions,
        by_model=by_model,
        by_agent=by_agent,
        first_at=first,
        last_at=last,
        basis=basis,
        budgets=_budget_rows(warden, query.plan, now),
    )
