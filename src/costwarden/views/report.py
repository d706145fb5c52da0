"""The summary report: what was spent over a period, grouped, with the top sessions and the budgets.

`summary_report(warden, ReportQuery(...))` answers `costwarden report` (without `--session`); its
`ReportResult.to_json()` is the schema `costwarden.report/2` (docs/reports.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.agent_runs import AgentRuns, agent_runs
from costwarden.reports.aggregate import Aggregator, check_keys
from costwarden.reports.formats import (
    CSV_DEFAULT_GROUPING,
    budget_json,
    group_json,
    money,
    period_json,
    report_csv,
    totals_json,
)
from costwarden.reports.model import BudgetLine, Report, build_report
from costwarden.reports.periods import utc_iso
from costwarden.storage.ledger import EventQuery, Totals, WhereValue
from costwarden.views.basis import Basis, basis_of
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["REPORT_SCHEMA", "ReportQuery", "ReportResult", "summary_report", "budget_lines_of", "report_json"]

REPORT_SCHEMA = "costwarden.report/2"


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What to report: the period (default this month), the grouping (`--by`), the filters (`--where`) and
    how many top sessions. `budgets` compares with the budgets (never with filters); `detailed` adds the
    agent and provider sections, `breakdown` the rows by project, provider and model (without `group_by`)."""

    period: PeriodFlags = NO_PERIOD
    group_by: tuple[str, ...] = ()
    where: Mapping[str, WhereValue] = field(default_factory=dict)
    top: int = 5
    budgets: bool = True
    detailed: bool = False
    breakdown: bool = False


@dataclass(frozen=True, slots=True)
class ReportResult:
    """The report and its optional sections; money is exact."""

    SCHEMA: ClassVar[str] = REPORT_SCHEMA

    report: Report
    by_agent: list[Totals] = field(default_factory=list)
    by_provider: list[Totals] = field(default_factory=list)
    breakdown: list[Totals] = field(default_factory=list)
    """Rows by `CSV_DEFAULT_GROUPING` (asked with `ReportQuery.breakdown`, without a grouping)."""
    basis: Basis | None = None
    """What the figures rest on (`costwarden.views.basis`)."""
    agent_runs: dict[str | None, AgentRuns] = field(default_factory=dict)
    """Runs per agent (seed 001), with `--by agent` (alone) or `detailed`."""

    def to_json(self) -> dict[str, Any]:
        out = report_json(self.report)
        if self.report.group_by == ("agent",):
            for group in out["groups"]:
                runs = self.agent_runs.get(group["key"]["agent"])
                group.update(AgentRuns(None, 0, 0, Decimal(0)).to_json() if runs is None else runs.to_json())
        out["basis"] = None if self.basis is None else self.basis.to_json()
        return out

    def to_csv(self) -> str:
        """The groups as CSV; without a grouping the breakdown by project, provider and model."""
        return report_csv(self.report, self.breakdown)


def report_json(report: Report) -> dict[str, Any]:
    """The report as a JSON-ready dict; every key is always present (schema `costwarden.report/2`)."""
    whole = report.totals.cost
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": utc_iso(report.generated_at),
        "period": period_json(report.period),
        "totals": totals_json(report.totals),
        "sessions": report.sessions,
        "runs": report.runs,
        "average_per_session": money(report.average_per_session),
        "group_by": list(report.group_by),
        "groups": [group_json(r, report.group_by, whole) for r in report.groups],
        "by_project": [group_json(r, ("project",), whole) for r in report.by_project],
        "by_model": [group_json(r, ("provider", "model"), whole) for r in report.by_model],
        "top_sessions": [
            {"session": s.session, "project": s.project, **totals_json(s.totals)} for s in report.top_sessions
        ],
        "budgets": [budget_json(b) for b in report.budgets],
        "answered_from": list(report.sources),
    }


def budget_lines_of(
    warden: Warden, aggregator: Aggregator, now: datetime, per_budget: int | None = 10
) -> list[BudgetLine]:
    """The budgets' current state: the budget engine's (as `costwarden budget status` shows it) when budgets
    are configured, else from the ledger; empty without budgets. Budgets scoped per value show their
    `per_budget` most used values (None: all)."""
    from costwarden.reports.budget_view import budget_lines, budget_states, engine_lines, policies_of

    lines = engine_lines(warden.budgets, aggregator, now, per_budget)
    if lines is not None:
        return lines
    policies = policies_of(warden.settings, warden)
    if not policies:
        return []
    return budget_lines(budget_states(aggregator, policies, now, warden.settings.tz), now)


def summary_report(warden: Warden, query: ReportQuery) -> ReportResult:
    """The report of `query` at the Warden's "now", every figure from one snapshot of the ledger. An unknown
    grouping key is a `QueryError` naming `--by`; a bad period one naming its flag."""
    now = warden.clock.now()
    period = query.period.resolve(warden.settings.tz, at=now)
    try:
        keys = check_keys(query.group_by)
    except ValueError as exc:
        raise QueryError(str(exc), "--by") from None
    filters = filters_of(warden, query.where)
    aggregator = aggregator_of(warden)
    by_agent: list[Totals] = []
    by_provider: list[Totals] = []
    breakdown: list[Totals] = []
    every = EventQuery(start=period.start, end=period.end, where=filters)
    with aggregator.snapshot():
        budgets = budget_lines_of(warden, aggregator, now) if query.budgets and not filters else []
        report = build_report(
            aggregator, period, group_by=keys, where=filters, top=query.top, budgets=budgets, now=now
        )
        basis = basis_of(warden, aggregator, every, min(now, period.end))
        runs = agent_runs(aggregator, every) if keys == ("agent",) or (query.detailed and not keys) else {}
        if not keys:
            if query.breakdown:
                breakdown = aggregator.totals(every, CSV_DEFAULT_GROUPING)
            if query.detailed:
                by_agent = aggregator.totals(every, ("agent",))
                by_provider = aggregator.totals(every, ("provider",))
    return ReportResult(report, by_agent, by_provider, breakdown, basis, runs)
