"""Where the recent burn rate takes this month, and every resetting budget by its reset.
`forecast(warden, ForecastQuery(...))` answers `costwarden forecast`; `ForecastResult.to_json()` is
`costwarden.forecast/2`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.core.units import Unit
from costwarden.reports.budget_view import BudgetState, budget_states, first_seen, policies_of
from costwarden.reports.forecast import Projection, days_between, project, rate_window
from costwarden.reports.formats import money, period_json, unit_json
from costwarden.reports.periods import Period, local_midnight, named_period, next_month_start, utc_iso
from costwarden.storage.ledger import EventQuery, WhereValue
from costwarden.views.basis import Basis, basis_of
from costwarden.views.errors import QueryError
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "FORECAST_SCHEMA",
    "ForecastQuery",
    "BudgetProjection",
    "NextMonth",
    "ForecastResult",
    "forecast",
    "projection_json",
]

FORECAST_SCHEMA = "costwarden.forecast/2"
MAX_WINDOW_DAYS = 365


@dataclass(frozen=True, slots=True)
class ForecastQuery:
    """The burn rate is the spend of the last `window_days` (shorter when the history is), per day;
    `next_month` projects next month at the same rate. With filters, no budget is projected."""

    window_days: int = 7
    next_month: bool = False
    where: Mapping[str, WhereValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BudgetProjection:
    """One limit (`cost`, `tokens` or `requests`) of a resetting budget, projected to its reset."""

    state: BudgetState
    dimension: str
    projection: Projection

    @property
    def unit(self) -> Unit:
        return self.state.unit(self.dimension)


@dataclass(frozen=True, slots=True)
class NextMonth:
    """Next month at this month's rate: its length in days and the projected total (USD)."""

    days: Decimal
    projected: Decimal


@dataclass(frozen=True, slots=True)
class ForecastResult:
    SCHEMA: ClassVar[str] = FORECAST_SCHEMA

    now: datetime
    window_start: datetime
    window_end: datetime
    month: Period
    projection: Projection
    """This month's spend so far and where the rate takes it."""
    budgets: list[BudgetProjection] = field(default_factory=list)
    next_month: NextMonth | None = None
    filtered: bool = False
    """Whether the question had filters (then no budget is projected)."""
    basis: Basis | None = None
    """What the figures rest on: this month's calls and those of the rate window."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": FORECAST_SCHEMA,
            "now": utc_iso(self.now),
            "window": {
                "start": utc_iso(self.window_start),
                "end": utc_iso(self.window_end),
                "days": str(self.projection.window_days),
            },
            "month": {"period": period_json(self.month), **projection_json(self.projection)},
            "budgets": [
                {
                    "id": b.state.policy.id,
                    "name": b.state.label,
                    "period": b.state.policy.period.label,
                    **projection_json(b.projection, b.unit),
                }
                for b in self.budgets
            ],
        }
        if self.next_month is not None:
            out["next_month"] = {
                "days": str(self.next_month.days.quantize(Decimal("0.01"))),
                "projected": money(self.next_month.projected),
            }
        out["basis"] = None if self.basis is None else self.basis.to_json()
        return out


def projection_json(p: Projection, unit: Unit = Unit.USD) -> dict[str, Any]:
    """A projection with its quantities in `unit` (money as decimal strings, counts as integers)."""

    def q(value: Decimal) -> str | int:
        return unit_json(unit, value)

    return {
        "unit": unit.value,
        "spent": q(p.spent),
        "rate_per_day": q(p.rate_per_day),
        "window_days": str(p.window_days),
        "days_left": str(p.days_left),
        "resets_at": utc_iso(p.period_end) if p.period_end else None,
        "projected": q(p.projected),
        "limit": q(p.limit) if p.limit is not None else None,
        "remaining": q(p.remaining) if p.remaining is not None else None,
        "outlook": p.outlook.value,
        "overshoot": q(p.overshoot),
        "exhausted_at": utc_iso(p.exhausted_at) if p.exhausted_at else None,
        "reduce_by_percent": str(p.reduce_by_percent),
    }


def _budget_projections(states: list[BudgetState]) -> list[BudgetProjection]:
    """Each resetting budget's limits (USD, tokens, requests), each with its projection."""
    out: list[BudgetProjection] = []
    for s in states:
        for dimension in ("cost", "tokens", "requests"):
            if s.limits.of(dimension) is None:
                continue
            p = s.projection(dimension)
            if p is not None:
                out.append(BudgetProjection(s, dimension, p))
    return out


def forecast(warden: Warden, query: ForecastQuery) -> ForecastResult:
    """This month's projection and the budgets' at the Warden's "now", from one snapshot of the ledger."""
    if not 1 <= query.window_days <= MAX_WINDOW_DAYS:
        raise QueryError(
            f"the window is 1 to {MAX_WINDOW_DAYS} days, not {query.window_days}", "--window-days"
        )
    tz = warden.settings.tz
    moment = warden.clock.now()
    aggregator = aggregator_of(warden)
    filters = filters_of(warden, query.where)
    month = named_period("this-month", moment, tz)
    with aggregator.snapshot():
        spent = aggregator.total(
            EventQuery(start=month.start, end=min(month.end, moment), where=filters)
        ).cost
        r_start, r_end = rate_window(moment, query.window_days, first_seen(aggregator))
        recent = aggregator.total(EventQuery(start=r_start, end=r_end, where=filters)).cost
        read = EventQuery(
            start=min(month.start, r_start), end=max(min(month.end, moment), r_end), where=filters
        )
        basis = basis_of(warden, aggregator, read, moment)
        budgets = (
            []
            if filters
            else _budget_projections(
                budget_states(
                    aggregator,
                    policies_of(warden.settings, warden),
                    moment,
                    tz,
                    window_days=query.window_days,
                )
            )
        )
    month_projection = project(
        spent=spent, recent_cost=recent, window_start=r_start, now=moment, period_end=month.end
    )
    following: NextMonth | None = None
    if query.next_month:
        first = next_month_start(month.start.astimezone(tz).date())
        days = days_between(local_midnight(first, tz), local_midnight(next_month_start(first), tz))
        following = NextMonth(days, (month_projection.rate_per_day * days).quantize(Decimal("1E-10")))
    return ForecastResult(
        now=moment,
        window_start=r_start,
        window_end=r_end,
        month=month,
        projection=month_projection,
        budgets=budgets,
        next_month=following,
        filtered=bool(filters),
        basis=basis,
    )
