"""The alert feed: thresholds crossed and exhaustions, newest first (`costwarden alerts --json`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from costwarden.access import Role
from costwarden.server.api.common import warden_of
from costwarden.server.auth import Caller, require
from costwarden.views.alerts import ALERT_KINDS, AlertsQuery, alert_json, alerts_view

__all__ = ["router", "scope_visible"]

router = APIRouter(tags=["alerts"])


def scope_visible(caller: Caller, scope: str) -> bool:
    """Whether a budget scope (`project=web`, `global`, `agent=x`) is one a restricted key may see: only
    scopes of its own projects."""
    if not caller.restricted:
        return True
    name, sep, value = scope.partition("=")
    return bool(sep) and name == "project" and value in caller.projects


@router.get("/alerts")
def alerts_route(
    request: Request,
    caller: Annotated[Caller, Depends(require(Role.READER))],
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 50,
    kind: Annotated[
        list[str] | None, Query(description=f"Only these kinds: {', '.join(ALERT_KINDS)}.")
    ] = None,
    budget: Annotated[str | None, Query(description="Only this budget id.")] = None,
) -> JSONResponse:
    """The alert feed (a list, as `costwarden alerts --json`); a project-restricted key sees its projects'
    budgets' alerts only."""
    result = alerts_view(warden_of(request), AlertsQuery(limit=limit, kinds=tuple(kind or ()), budget=budget))
    return JSONResponse([alert_json(a) for a in result.alerts if scope_visible(caller, a.scope)])
