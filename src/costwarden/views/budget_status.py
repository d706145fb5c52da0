"""Where each budget stands, from its counters (what admission enforces): limit, spent, reserved, remaining,
percent, reset time and the projection to the period's end, each limit in its own unit.
`budget_status_view(warden, at)` answers `costwarden budget status`; its JSON (`costwarden.budget_status/1`)
is a list of rows, one per budget, scope value and limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.budgets.engine import BudgetEngine
from costwarden.budgets.status import BudgetStatus, budget_status
from costwarden.errors import ConfigError
from costwarden.reports.budget_view import row_projections
from costwarden.reports.forecast import Projection
from costwarden.reports.formats import unit_json
from costwarden.views.reader import aggregator_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["BUDGET_STATUS_SCHEMA", "BudgetStatusRow", "BudgetStatusResult", "budget_status_view", "engine_of"]

BUDGET_STATUS_SCHEMA = "costwarden.budget_status/1"


@dataclass(frozen=True, slots=True)
class BudgetStatusRow:
    """One budget, one scope value, one limit, with its projection (None for limits that do not reset)."""

    status: BudgetStatus
    projection: Projection | None

    def to_json(self) -> dict[str, Any]:
        row = self.status
        unit = row.unit

        def show(units: int) -> str | int:
            return unit_json(unit, row.amount(units))

        return {
            "id": row.policy.id,
            "scope": row.scope,
            "period": row.policy.period.spelled,
            "unit": unit.value,
            "limit": show(row.limit),
            "spent": show(row.spent),
            "reserved": show(row.reserved),
            "remaining": show(row.remaining),
            "percent": str(row.percent),
            "resets_at": row.resets_at.isoformat().replace("+00:00", "Z") if row.resets_at else None,
            "projected": unit_json(unit, self.projection.projected) if self.projection is not None else None,
            "state": row.state,
            "action": row.policy.action.value,
        }


@dataclass(frozen=True, slots=True)
class BudgetStatusResult:
    """Every budget's rows at `at`; `shadowed` names the budgets set from the CLI that the config file
    overrides. Its JSON is a list (the shape `costwarden budget status --json` always printed): the schema
    id is `SCHEMA`, for an envelope that carries one (the REST API's)."""

    SCHEMA: ClassVar[str] = BUDGET_STATUS_SCHEMA

    at: datetime
    rows: list[BudgetStatusRow] = field(default_factory=list)
    shadowed: tuple[str, ...] = ()

    def to_json(self) -> list[dict[str, Any]]:
        return [row.to_json() for row in self.rows]


def engine_of(warden: Warden) -> BudgetEngine:
    """The Warden's budget engine; a `ConfigError` without one (budgets need a database ledger)."""
    engine = warden.budgets
    if not isinstance(engine, BudgetEngine):
        raise ConfigError("budgets need a database ledger", key="database")
    return engine


def budget_status_view(warden: Warden, at: datetime | None = None) -> BudgetStatusResult:
    """The budgets' counters at `at` (default: the engine's "now") with the ledger's recent rate."""
    engine = engine_of(warden)
    now = at if at is not None else engine.clock.now()
    rows = budget_status(engine, now)
    aggregator = aggregator_of(warden)
    with aggregator.snapshot():
        projections = row_projections(rows, aggregator, now)
    return BudgetStatusResult(
        now,
        [BudgetStatusRow(r, p) for r, p in zip(rows, projections, strict=True)],
        tuple(engine.shadowed),
    )
