"""Dismissing and restoring a suggestion (`admin`), as `costwarden insights --dismiss/--restore`: a dismissed
suggestion stays out of `GET /insights` (and the dashboard) until restored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from costwarden.access import Role
from costwarden.server.api.common import named_period, warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError
from costwarden.server.params import ReadQuery, read_query
from costwarden.views.errors import QueryError
from costwarden.views.insights import InsightsQuery, change_dismissals, insights_view

__all__ = ["router"]

router = APIRouter(tags=["reads"])

Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
Read = Annotated[ReadQuery, Depends(read_query)]
InsightId = Annotated[str, Path(min_length=1, max_length=64, description="The suggestion's `id`.")]


def _change(
    request: Request, caller: Caller, read: ReadQuery, insight_id: str, dismiss: bool
) -> JSONResponse:
    caller.unrestricted("insights")
    warden = warden_of(request)
    seen = insights_view(warden, InsightsQuery(period=named_period(read).period, show_all=True))
    try:
        (change,) = change_dismissals(
            warden, seen, dismiss=[insight_id] if dismiss else [], restore=[] if dismiss else [insight_id]
        )
    except QueryError:
        raise ApiError(
            404, "not_found", f"no insight {insight_id!r} in {seen.period.label}", parameter="insight_id"
        ) from None
    return JSONResponse({"id": change.insight_id, "dismissed": change.dismissed, "changed": change.changed})


@router.post("/insights/{insight_id}/dismiss")
def dismiss_route(request: Request, caller: Admin, read: Read, insight_id: InsightId) -> JSONResponse:
    """Dismiss a suggestion of the period (default the last 30 days; `admin`, every project): `changed` is
    false when it was dismissed already."""
    return _change(request, caller, read, insight_id, True)


@router.post("/insights/{insight_id}/restore")
def restore_route(request: Request, caller: Admin, read: Read, insight_id: InsightId) -> JSONResponse:
    """Show a dismissed suggestion again (`admin`)."""
    return _change(request, caller, read, insight_id, False)
