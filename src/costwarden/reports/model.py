"""The report: one period's totals, the requested grouping and the sections of the basic report.

`build_report` asks an `Aggregator` for every figure; nothing here touches storage directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from costwarden.clock import default_now
from costwarden.core.units import Unit
from costwarden.reports.aggregate import Aggregator, check_keys
from costwarden.reports.forecast import Projection
from costwarden.reports.periods import Period
from costwarden.storage.ledger import EventQuery, Totals, WhereValue
from costwarden.storage.totals import empty_totals, regroup

__all__ = [
    "SessionLine",
    "BudgetLine",
    "Report",
    "build_report",
    "top_sessions",
    "share",
]


def share(part: Decimal, whole: Decimal) -> Decimal:
    """`part` as a percentage of `whole` (0 when `whole` is 0), to one decimal place."""
    if whole == 0:
        return Decimal(0)
    return (part * 100 / whole).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One session of the top-sessions list, with the project it spent most in."""

    session: str
    project: str | None
    totals: Totals


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One limit of one budget (one scope value, one unit) in its current window (filled by
    `costwarden.reports.budget_view`). Every quantity is in `unit`: Decimal USD for money, whole counts for
    tokens, requests and concurrent calls or runs."""

    id: str
    name: str
    scope: str
    period: str
    unit: Unit
    limit: Decimal
    used: Decimal
    remaining: Decimal
    percent_used: Decimal
    resets_at: datetime | None = None
    days_left: Decimal | None = None
    projection: Projection | None = None
    """Where the recent rate takes `used` by the reset (resetting calendar periods only)."""
    action: str | None = None
    reserved: Decimal = Decimal(0)
    scope_value: str = "global"
    """The scope value the counters are kept for (`project=web`), `global` for a budget without one."""
    state: str = "ok"
    """`exhausted` (no room left), `warning` (past the highest threshold) or `ok`."""

    @property
    def projected(self) -> Decimal | None:
        return None if self.projection is None else self.projection.projected

    @property
    def percent_remaining(self) -> Decimal:
        return max(Decimal(0), Decimal(100) - self.percent_used)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one `costwarden report` shows. Money is exact (Decimal)."""

    period: Period
    generated_at: datetime
    totals: Totals
    sessions: int
    runs: int
    group_by: tuple[str, ...] = ()
    groups: list[Totals] = field(default_factory=list)
    by_project: list[Totals] = field(default_factory=list)
    by_model: list[Totals] = field(default_factory=list)
    top_sessions: list[SessionLine] = field(default_factory=list)
    budgets: list[BudgetLine] = field(default_factory=list)
    sources: tuple[str, ...] = ()

    @property
    def average_per_session(self) -> Decimal:
        if not self.sessions:
            return Decimal(0)
        return (self.totals.cost / self.sessions).quantize(Decimal("1E-10"))


def top_sessions(rows: Sequence[Totals], limit: int) -> list[SessionLine]:
    """Sessions by cost from rows keyed `(session, project)`; a session's project is where it spent most."""
    best_project: dict[str, tuple[Decimal, str | None]] = {}
    for row in rows:
        session, project = row.key
        if session is None:
            continue
        have = best_project.get(session)
        if have is None or row.cost > have[0]:
            best_project[session] = (row.cost, project)
    merged = regroup(rows, lambda k: (k[0],))
    out: list[SessionLine] = []
    for row in merged:
        session = row.key[0]
        if len(out) >= limit:
            break
        if session is None:
            continue
        out.append(SessionLine(session=session, project=best_project[session][1], totals=row))
    return out


def build_report(
    aggregator: Aggregator,
    period: Period,
    *,
    group_by: Sequence[str] = (),
    where: Mapping[str, WhereValue] | None = None,
    top: int = 5,
    budgets: Sequence[BudgetLine] = (),
    now: datetime | None = None,
) -> Report:
    """Compute the report for `period` (and the optional filters) from the aggregator."""
    keys = check_keys(group_by)
    query = EventQuery(start=period.start, end=period.end, where=dict(where or {}))
    sources: list[str] = []

    def ask(by: Sequence[str]) -> list[Totals]:
        rows = aggregator.totals(query, by)
        sources.extend(aggregator.last_sources)
        return rows

    with aggregator.snapshot():
        overall = ask(())
        by_session = ask(("session", "project"))
        by_run = ask(("run",))
        groups = ask(keys) if keys else []
        by_project = ask(("project",))
        by_model = ask(("provider", "model"))
    totals = overall[0] if overall else empty_totals()
    return Report(
        period=period,
        generated_at=now or default_now(),
        totals=totals,
        sessions=len({r.key[0] for r in by_session if r.key[0] is not None}),
        runs=sum(1 for r in by_run if r.key[0] is not None),
        group_by=keys,
        groups=groups,
        by_project=by_project,
        by_model=by_model,
        top_sessions=top_sessions(by_session, top),
        budgets=list(budgets),
        sources=tuple(dict.fromkeys(sources)),
    )
