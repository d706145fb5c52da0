"""The alert feed: thresholds crossed and exhaustions, newest first (`costwarden alerts --json`), one alert,
and acknowledging one (`admin`: who and when are recorded, the first acknowledgement is kept)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from costwarden.access import Role
from costwarden.reports.formats import records_csv
from costwarden.server.api.common import CSV_RESPONSE, csv_response, warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError
from costwarden.server.params import Format
from costwarden.storage.budgets import AlertRecord
from costwarden.views.alerts import (
    ALERT_KINDS,
    AlertsQuery,
    acknowledge_alert,
    alert_json,
    alert_records,
    alerts_view,
)

__all__ = ["router", "scope_visible", "AckIn"]

router = APIRouter(tags=["alerts"])

ALERT_CSV_COLUMNS = (
    "id",
    "at",
    "kind",
    "level",
    "budget_id",
    "scope",
    "period",
    "unit",
    "threshold",
    "resets_at",
    "message",
    "acknowledged",
)
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The alert's `id` (as in the feed).")]


class AckIn(BaseModel):
    """An acknowledgement: an optional note (who and when come from the key and the clock)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


def scope_visible(caller: Caller, scope: str) -> bool:
    """Whether a budget scope (`project=web`, `global`, `agent=x`) is one a restricted key may see: only
    scopes of its own projects."""
    if not caller.restricted:
        return True
    name, sep, value = scope.partition("=")
    return bool(sep) and name == "project" and value in caller.projects


def _visible(caller: Caller, alert: AlertRecord | None, alert_id: int) -> AlertRecord:
    """The alert, or a 404 when there is none or the key may not see it (it is not told which)."""
    if alert is None or not scope_visible(caller, alert.scope):
        raise ApiError(404, "not_found", f"no alert {alert_id}", parameter="alert_id")
    return alert


def _who(caller: Caller) -> str:
    key = caller.key
    if key is None:
        return "local (no API keys)"
    return f"{key.name} (key {key.id})" if key.name and key.name != key.id else f"key {key.id}"


@router.get("/alerts", responses=CSV_RESPONSE)
def alerts_route(
    request: Request,
    caller: Annotated[Caller, Depends(require(Role.READER))],
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 50,
    kind: Annotated[
        list[str] | None, Query(description=f"Only these kinds: {', '.join(ALERT_KINDS)}.")
    ] = None,
    budget: Annotated[str | None, Query(description="Only this budget id.")] = None,
    acknowledged: Annotated[
        bool | None, Query(description="Only acknowledged alerts (true) or those not yet (false).")
    ] = None,
    format: Annotated[Format, Query(description="json or csv.")] = Format.JSON,
) -> Response:
    """The alert feed (a list, as `costwarden alerts --json`); a project-restricted key sees its projects'
    budgets' alerts only. Each alert's `acknowledged` is null or `{at, by, note}`. CSV: one row per alert."""
    query = AlertsQuery(limit=limit, kinds=tuple(kind or ()), budget=budget, acknowledged=acknowledged)
    result = alerts_view(warden_of(request), query)
    rows = [alert_json(a) for a in result.alerts if scope_visible(caller, a.scope)]
    if format == Format.CSV:
        return csv_response(records_csv(rows, ALERT_CSV_COLUMNS), "alerts")
    return JSONResponse(rows)


@router.get("/alerts/{alert_id}")
def alert_route(
    request: Request, caller: Annotated[Caller, Depends(require(Role.READER))], alert_id: AlertId
) -> JSONResponse:
    """One alert of the feed (404 when there is none, or it is outside a restricted key's projects)."""
    alert = alert_records(warden_of(request)).alert(alert_id)
    return JSONResponse(alert_json(_visible(caller, alert, alert_id)))


@router.post("/alerts/{alert_id}/ack")
def acknowledge_route(
    request: Request,
    caller: Annotated[Caller, Depends(require(Role.ADMIN))],
    alert_id: AlertId,
    body: Annotated[AckIn | None, Body()] = None,
) -> JSONResponse:
    """Acknowledge an alert (`admin`): the answer is the alert with `acknowledged: {at, by, note}`, `by`
    naming the key. Acknowledging twice keeps the first acknowledgement (the answer shows it)."""
    warden = warden_of(request)
    _visible(caller, alert_records(warden).alert(alert_id), alert_id)
    note = body.note if body is not None else None
    acked = acknowledge_alert(warden, alert_id, _who(caller), note)
    return JSONResponse(alert_json(_visible(caller, acked, alert_id)))
