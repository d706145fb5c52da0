"""Seed 003's one view: today's spend, this month's spend and each backend's (provider's) spend, beside the
budgets and what they have left. `costs_view(warden)` answers `costwarden costs`;
`CostsResult.to_json()` is `costwarden.costs/1`.

A backend is listed when it spent this month, is named by a budget or is listed under `providers:`; its
budget is the tightest limit of the budgets kept per provider (or naming it), in USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.budgets.status import BudgetStatus
from costwarden.core.units import Unit
from costwarden.reports.formats import money, period_json, totals_json
from costwarden.reports.periods import Period, named_period, utc_iso
from costwarden.storage.ledger import EventQuery, Totals
from costwarden.storage.totals import empty_totals
from costwarden.views.basis import Basis, basis_of
from costwarden.views.budget_status import BudgetStatusRow
from costwarden.views.reader import aggregator_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["COSTS_SCHEMA", "Backend", "CostsResult", "costs_view"]

COSTS_SCHEMA = "costwarden.costs/1"


@dataclass(frozen=True, slots=True)
class Backend:
    """One provider: today's and this month's sums, and its tightest budget limit in USD (or None)."""

    provider: str
    today: Totals
    month: Totals
    budget: BudgetStatus | None

    def to_json(self) -> dict[str, Any]:
        budget = self.budget
        return {
            "provider": self.provider,
            "today": money(self.today.cost),
            "month": money(self.month.cost),
            "today_calls": self.today.events,
            "month_calls": self.month.events,
            "budget": None
            if budget is None
            else {
                "id": budget.policy.id,
                "period": budget.policy.period.spelled,
                "limit": money(budget.amount(budget.limit)),
                "spent": money(budget.amount(budget.spent)),
                "remaining": money(budget.amount(budget.remaining)),
                "percent": str(budget.percent),
                "state": budget.state,
            },
        }


@dataclass(frozen=True, slots=True)
class CostsResult:
    """Today, this month, each backend, and every budget's rows."""

    SCHEMA: ClassVar[str] = COSTS_SCHEMA

    at: datetime
    today_period: Period
    month_period: Period
    today: Totals
    month: Totals
    backends: list[Backend]
    budgets: list[BudgetStatusRow]
    basis: Basis

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": COSTS_SCHEMA,
            "at": utc_iso(self.at),
            "today": {"period": period_json(self.today_period), **totals_json(self.today)},
            "month": {"period": period_json(self.month_period), **totals_json(self.month)},
            "backends": [backend.to_json() for backend in self.backends],
            "budgets": [row.to_json() for row in self.budgets],
            "basis": self.basis.to_json(),
        }


def _provider_of(status: BudgetStatus) -> str | None:
    """The provider a budget row is kept for (`provider=anthropic`, or a budget naming one provider)."""
    for part in status.scope.split("|"):
        name, _, value = part.partition("=")
        if name == "provider" and value:
            return value
    named = dict(status.policy.match).get("provider")
    if named is not None and len(named) == 1:
        return next(iter(named))
    return None


def _tightest(rows: list[BudgetStatus]) -> BudgetStatus | None:
    money_rows = [r for r in rows if r.unit is Unit.USD]
    return min(money_rows, key=lambda r: (r.remaining, r.policy.id), default=None)


def costs_view(warden: Warden) -> CostsResult:
    """Today and this month in the configured timezone at the Warden's "now", from one snapshot."""
    from costwarden.budgets.engine import BudgetEngine
    from costwarden.budgets.status import budget_status
    from costwarden.views.scoped_budgets import scope_rows

    now = warden.clock.now()
    tz = warden.settings.tz
    today_period = named_period("today", now, tz)
    month_period = named_period("this-month", now, tz)
    aggregator = aggregator_of(warden)
    today_q = EventQuery(start=today_period.start, end=today_period.end)
    month_q = EventQuery(start=month_period.start, end=month_period.end)
    with aggregator.snapshot():
        today = aggregator.total(today_q)
        month = aggregator.total(month_q)
        today_by = {r.key[0]: r for r in aggregator.totals(today_q, ("provider",))}
        month_by = {r.key[0]: r for r in aggregator.totals(month_q, ("provider",))}
        basis = basis_of(warden, aggregator, month_q, now)
    engine = warden.budgets
    statuses = budget_status(engine, now) if isinstance(engine, BudgetEngine) else []
    per_provider: dict[str, list[BudgetStatus]] = {}
    for status in statuses:
        provider = _provider_of(status)
        if provider is not None:
            per_provider.setdefault(provider, []).append(status)
    names = [str(p) for p in month_by if p is not None]
    for name in [*per_provider, *(p.name for p in warden.settings.providers)]:
        canonical = warden.pricebook.canonical(name, "")[0]
        if canonical not in names:
            names.append(canonical)
    if isinstance(engine, BudgetEngine):
        for name in names:
            for row in scope_rows(engine, statuses, "provider", name, now):
                if row not in per_provider.get(name, []):
                    per_provider.setdefault(name, []).append(row)
    spent = {name: month_by.get(name, empty_totals()).cost for name in names}
    ordered = sorted(names, key=lambda name: (-spent[name], name))
    backends = [
        Backend(
            provider=name,
            today=today_by.get(name) or empty_totals((name,)),
            month=month_by.get(name) or empty_totals((name,)),
            budget=_tightest(per_provider.get(name, [])),
        )
        for name in ordered
    ]
    rows = [BudgetStatusRow(status, None) for status in statuses]
    return CostsResult(now, today_period, month_period, today, month, backends, rows, basis)
