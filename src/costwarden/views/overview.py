"""Today, this week and this month at a glance: what was spent, the budget of that period and how much of it
is used, where the recent rate takes the period by its end, and the tightest budget or quota window with its
reset. `overview(warden, OverviewQuery(...))` answers the dashboard's top row and `GET /api/v1/overview`;
`OverviewResult.to_json()` is `costwarden.overview/1`.

A card's budget is the cost budget of the same period (day, week, month) over everything, or, when the
question names one project, that project's; its percent is the budget's own (its counters, as `costwarden
budget status` shows them). The card is `red` once the budget is used up, `amber` from 80% or when the
projection passes the limit, `green` below, and `none` without a budget."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.core.periods import PeriodKind
from costwarden.errors import ConfigError
from costwarden.reports.budget_view import first_seen
from costwarden.reports.forecast import Projection, project, rate_window
from costwarden.reports.formats import money, period_json, totals_json
from costwarden.reports.periods import Period, named_period, utc_iso
from costwarden.storage.ledger import EventQuery, Totals, WhereValue, where_values
from costwarden.views.basis import Basis, basis_of
from costwarden.views.budget_status import BudgetStatusRow, budget_status_view
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "OVERVIEW_SCHEMA",
    "CARD_PERIODS",
    "AMBER_PERCENT",
    "OverviewQuery",
    "PeriodCard",
    "Tightest",
    "OverviewResult",
    "overview",
    "state_of",
    "card_budget",
]

OVERVIEW_SCHEMA = "costwarden.overview/1"
CARD_PERIODS: dict[str, PeriodKind] = {
    "today": PeriodKind.DAY,
    "this-week": PeriodKind.WEEK,
    "this-month": PeriodKind.MONTH,
}
"""The periods of the cards, and the budget period each is compared with."""
AMBER_PERCENT = Decimal(80)
_CSV_COLUMNS = (
    "period",
    "start",
    "end",
    "events",
    "cost",
    "unpriced_events",
    "projected",
    "budget",
    "scope",
    "limit",
    "percent",
    "resets_at",
    "state",
)
WINDOW_DAYS = 7
"""Days of recent spend the projections' rate is measured over (as `costwarden forecast`)."""


def state_of(percent: Decimal | None, projected_over: bool = False) -> str:
    """`red` (used up), `amber` (from 80%, or projected past the limit), `green`, or `none` (no limit)."""
    if percent is None:
        return "none"
    if percent >= 100:
        return "red"
    if percent >= AMBER_PERCENT or projected_over:
        return "amber"
    return "green"


@dataclass(frozen=True, slots=True)
class OverviewQuery:
    """The filters every card applies (as `--where`); `scopes`: only budgets of these scopes are shown
    (None: every budget), e.g. the projects a restricted key may see; `quotas`: include quota windows."""

    where: Mapping[str, WhereValue] = field(default_factory=dict)
    scopes: tuple[str, ...] | None = None
    quotas: bool = True


@dataclass(frozen=True, slots=True)
class PeriodCard:
    """One period: its spend (filtered), the projection to its end, and the budget it is held to."""

    name: str
    period: Period
    totals: Totals
    projection: Projection
    budget: BudgetStatusRow | None

    @property
    def percent(self) -> Decimal | None:
        return None if self.budget is None else self.budget.status.percent

    @property
    def state(self) -> str:
        if self.budget is None:
            return "none"
        limit = self.budget.status.amount(self.budget.status.limit)
        over = self.budget.projection is not None and self.budget.projection.projected > limit
        return state_of(self.percent, over)

    def to_json(self) -> dict[str, Any]:
        budget: dict[str, Any] | None = None
        if self.budget is not None:
            row = self.budget.to_json()
            budget = {
                k: row[k] for k in ("id", "scope", "limit", "spent", "reserved", "percent", "resets_at")
            }
            budget["projected"] = row["projected"]
        return {
            "name": self.name,
            "period": period_json(self.period),
            **totals_json(self.totals),
            "projected": money(self.projection.projected),
            "rate_per_day": money(self.projection.rate_per_day),
            "budget": budget,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class Tightest:
    """The budget limit or quota window with the least room left (the highest percent used)."""

    kind: str
    """`budget` or `quota`."""
    name: str
    """The budget id, or the plan's label."""
    scope: str
    """The budget's scope (`global`, `project=web`), or the quota window's name (`5h`)."""
    unit: str
    percent: Decimal
    resets_at: datetime | None
    exhausted: bool = False

    @property
    def state(self) -> str:
        return "red" if self.exhausted else state_of(self.percent)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "scope": self.scope,
            "unit": self.unit,
            "percent": str(self.percent),
            "resets_at": utc_iso(self.resets_at) if self.resets_at else None,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class OverviewResult:
    SCHEMA: ClassVar[str] = OVERVIEW_SCHEMA

    at: datetime
    cards: list[PeriodCard]
    tightest: Tightest | None
    basis: Basis | None = None
    """What this month's figures rest on."""

    def card(self, name: str) -> PeriodCard:
        return next(c for c in self.cards if c.name == name)

    def to_csv(self) -> str:
        """One row per card: period, spent, projected, its budget and state."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for card in self.cards:
            row = card.to_json()
            budget = row["budget"] or {}
            period = row["period"]
            budget_cells = (budget.get(k) for k in ("id", "scope", "limit", "percent", "resets_at"))
            writer.writerow(
                [
                    *(card.name, period["start"], period["end"], row["events"], row["cost"]),
                    *(row["unpriced_events"], row["projected"], *budget_cells, row["state"]),
                ]
            )
        return out.getvalue()

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": OVERVIEW_SCHEMA,
            "at": utc_iso(self.at),
            "cards": [c.to_json() for c in self.cards],
            "tightest": None if self.tightest is None else self.tightest.to_json(),
            "basis": None if self.basis is None else self.basis.to_json(),
        }


def _wanted_scopes(where: Mapping[str, WhereValue]) -> tuple[str, ...]:
    """The budget scope a card compares with: the one project filtered on, else everything."""
    projects = where_values(where["project"]) if "project" in where else ()
    if len(projects) == 1 and projects[0] is not None:
        return (f"project={projects[0]}",)
    if "project" in where:
        return ()
    return ("global",)


def card_budget(
    rows: list[BudgetStatusRow], kind: PeriodKind, where: Mapping[str, WhereValue]
) -> BudgetStatusRow | None:
    """The cost budget of period `kind` a question with filters `where` is held to: the global one, or
    with one project filtered on, that project's (None: no such budget)."""
    scopes = _wanted_scopes(where)
    matching = [
        r
        for r in rows
        if r.status.dimension == "cost" and r.status.policy.period.kind is kind and r.status.scope in scopes
    ]
    return max(matching, key=lambda r: r.status.percent, default=None)


def _tightest_budget(rows: list[BudgetStatusRow]) -> Tightest | None:
    best: Tightest | None = None
    for row in rows:
        status = row.status
        if status.dimension == "concurrent" or status.limit <= 0:
            continue
        candidate = Tightest(
            "budget",
            status.policy.id,
            status.scope,
            status.unit.value,
            status.percent,
            status.resets_at,
            status.state == "exhausted",
        )
        if best is None or (candidate.exhausted, candidate.percent) > (best.exhausted, best.percent):
            best = candidate
    return best


def _tightest_quota(warden: Warden) -> Tightest | None:
    if not warden.settings.subscriptions:
        return None
    from costwarden.views.quota_status import QuotaQuery, quota_status_view

    best: Tightest | None = None
    for plan in quota_status_view(warden, QuotaQuery()).plans:
        for usage in plan.windows:
            if usage.percent is None:
                continue
            candidate = Tightest(
                "quota",
                plan.plan.label,
                usage.window.name,
                usage.window.unit,
                usage.percent,
                usage.reset_at,
                usage.exhausted,
            )
            if best is None or (candidate.exhausted, candidate.percent) > (best.exhausted, best.percent):
                best = candidate
    return best


def overview(warden: Warden, query: OverviewQuery) -> OverviewResult:
    """The cards at the Warden's "now": spend from one snapshot of the ledger, budgets from their counters
    (as `budget_status_view`)."""
    now = warden.clock.now()
    tz = warden.settings.tz
    filters = filters_of(warden, query.where)
    try:
        rows = budget_status_view(warden, now).rows
    except ConfigError:  # no database ledger: no budget engine
        rows = []
    if query.scopes is not None:
        rows = [r for r in rows if r.status.scope in query.scopes]
    aggregator = aggregator_of(warden)
    cards: list[PeriodCard] = []
    with aggregator.snapshot():
        r_start, r_end = rate_window(now, WINDOW_DAYS, first_seen(aggregator))
        recent = aggregator.total(EventQuery(start=r_start, end=r_end, where=filters)).cost
        for name, kind in CARD_PERIODS.items():
            period = named_period(name, now, tz)
            totals = aggregator.total(EventQuery(start=period.start, end=period.end, where=filters))
            projection = project(
                spent=totals.cost, recent_cost=recent, window_start=r_start, now=now, period_end=period.end
            )
            cards.append(PeriodCard(name, period, totals, projection, card_budget(rows, kind, query.where)))
        month = cards[-1].period
        basis = basis_of(
            warden,
            aggregator,
            EventQuery(start=month.start, end=month.end, where=filters),
            min(now, month.end),
        )
    candidates = [t for t in (_tightest_budget(rows), _tightest_quota(warden) if query.quotas else None) if t]
    tightest = max(candidates, key=lambda t: (t.exhausted, t.percent), default=None)
    return OverviewResult(now, cards, tightest, basis)
