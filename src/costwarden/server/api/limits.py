"""Limits (budgets): list them, their status, set and remove them (`admin`). Budgets set here are stored in
the database like `costwarden budget set` does, and apply to every process on it within seconds."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from costwarden.access import Role
from costwarden.budgets import SavedBudget
from costwarden.core.policy import BudgetConfig
from costwarden.reports.formats import records_csv
from costwarden.server.api.alerts import scope_visible
from costwarden.server.api.common import CSV_RESPONSE, csv_response, warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError
from costwarden.server.params import Format
from costwarden.views.budget_list import budget_rows
from costwarden.views.budget_status import budget_status_view, engine_of

__all__ = ["router", "validated"]

router = APIRouter(tags=["limits"])

Reader = Annotated[Caller, Depends(require(Role.READER))]
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
BudgetId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@/-]+$")]

_EXAMPLE = {"period": "month", "cost_usd": "200", "scope": "project", "value": "web", "thresholds": ["80"]}


@router.get("/limits")
def list_limits(request: Request, caller: Reader) -> JSONResponse:
    """Every budget in force, from the config file and set from the CLI or this API (a list, as
    `costwarden budget list --json`)."""
    rows = [row for row in budget_rows(warden_of(request)) if scope_visible(caller, row["scope"])]
    return JSONResponse(rows)


STATUS_CSV_COLUMNS = (
    "id",
    "scope",
    "period",
    "unit",
    "limit",
    "spent",
    "reserved",
    "remaining",
    "percent",
    "resets_at",
    "projected",
    "state",
    "action",
)


@router.get("/limits/status", responses=CSV_RESPONSE)
def limits_status(
    request: Request,
    caller: Reader,
    format: Annotated[Format, Query(description="json or csv.")] = Format.JSON,
) -> Response:
    """Where each budget stands now: limit, spent, reserved, remaining, percent, reset time, projection (a
    list, as `costwarden budget status --json`; CSV: one row per budget, scope and limit)."""
    result = budget_status_view(warden_of(request))
    rows = [row.to_json() for row in result.rows if scope_visible(caller, row.status.scope)]
    if format == Format.CSV:
        return csv_response(records_csv(rows, STATUS_CSV_COLUMNS), "limits-status")
    return JSONResponse(rows)


def _plain(value: Any) -> Any:
    """JSON numbers as the text they stand for (money stays exact)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def validated(budget_id: str, definition: dict[str, Any]) -> tuple[BudgetConfig, dict[str, Any]]:
    """The budget a definition describes (a 400 naming the first bad field), and the definition to store."""
    if "id" in definition and definition["id"] != budget_id:
        raise ApiError(400, "invalid", "the body's id differs from the path's", parameter="id")
    stored = {k: _plain(v) for k, v in definition.items() if k != "id"}
    try:
        config = BudgetConfig.model_validate({"id": budget_id, **stored})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        raise ApiError(400, "invalid", message, parameter=where or None) from None
    return config, stored


@router.put("/limits/{budget_id}")
def put_limit(
    request: Request,
    budget_id: BudgetId,
    caller: Admin,
    definition: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])],
) -> JSONResponse:
    """Set (or replace) a budget: the fields of a budget in the config file (`period`, `cost_usd`, `tokens`,
    `requests`, `scope`, `value`, `where`, `action`, `thresholds`, ...; docs/budgets.md). Answers its row as
    `GET /limits` shows it. A budget of the same id in the config file wins while it is there."""
    caller.unrestricted("setting limits")
    _, stored = validated(budget_id, definition)
    warden = warden_of(request)
    engine = engine_of(warden)
    assert engine.records is not None
    engine.records.save_budget(SavedBudget(budget_id, stored))
    engine.reread_policies()
    rows = [row for row in budget_rows(warden) if row["id"] == budget_id]
    return JSONResponse(rows[0] if rows else {"id": budget_id})


@router.delete("/limits/{budget_id}", status_code=204)
def delete_limit(request: Request, budget_id: BudgetId, caller: Admin) -> Response:
    """Remove a budget set from the CLI or this API (one from the config file: 409, remove it there)."""
    caller.unrestricted("removing limits")
    warden = warden_of(request)
    engine = engine_of(warden)
    assert engine.records is not None
    removed = engine.records.remove_budget(budget_id)
    engine.reread_policies()
    if not removed:
        if budget_id in {b.id for b in warden.settings.budgets}:
            raise ApiError(
                409, "from_config", f"budget {budget_id!r} comes from the config file; remove it there"
            )
        raise ApiError(404, "not_found", f"no budget {budget_id!r} was set from the CLI or the API")
    return Response(status_code=204)
