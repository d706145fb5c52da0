"""Reads beyond spend totals: the forecast, insights, one session in detail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from costwarden.access import Role
from costwarden.server.api.common import CSV_RESPONSE, answer, named_period, warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError
from costwarden.server.params import Format, ReadQuery, read_query
from costwarden.views.forecast import ForecastQuery, forecast
from costwarden.views.insights import InsightsQuery, insights_view
from costwarden.views.overview import OverviewQuery, overview
from costwarden.views.session import SessionQuery, SessionUnavailable, session_view

__all__ = ["router", "overview_query"]

router = APIRouter(tags=["reads"])

Reader = Annotated[Caller, Depends(require(Role.READER))]
Read = Annotated[ReadQuery, Depends(read_query)]


@router.get("/forecast")
def forecast_route(
    request: Request,
    caller: Reader,
    read: Read,
    window_days: Annotated[
        int, Query(ge=1, le=365, description="Days of recent spend the rate is from.")
    ] = 7,
    next_month: bool = False,
) -> Response:
    """Month-end projection and each budget's (`costwarden forecast --json`, `costwarden.forecast/2`);
    filters apply, the period does not."""
    result = forecast(
        warden_of(request),
        ForecastQuery(window_days=window_days, next_month=next_month, where=caller.restrict(read.where)),
    )
    return answer(result)


def overview_query(caller: Caller, read: ReadQuery) -> OverviewQuery:
    """The overview a caller may see: its projects' budgets only, quota windows for unrestricted keys."""
    if not caller.restricted:
        return OverviewQuery(where=caller.restrict(read.where))
    scopes = tuple(f"project={p}" for p in caller.projects)
    return OverviewQuery(where=caller.restrict(read.where), scopes=scopes, quotas=False)


@router.get("/overview", responses=CSV_RESPONSE)
def overview_route(
    request: Request,
    caller: Reader,
    read: Read,
    format: Annotated[Format, Query(description="json or csv.")] = Format.JSON,
) -> Response:
    """Today, this week and this month: spent, the budget of that period, percent used, projected at the
    period's end, and the tightest budget or quota window with its reset (`costwarden.overview/1`, the
    dashboard's top row); filters apply, the period does not."""
    return answer(overview(warden_of(request), overview_query(caller, read)), format, name="overview")


@router.get("/insights", responses=CSV_RESPONSE)
def insights_route(
    request: Request,
    caller: Reader,
    read: Read,
    show_all: Annotated[bool, Query(description="Include dismissed suggestions.")] = False,
    format: Annotated[Format, Query(description="json or csv.")] = Format.JSON,
) -> Response:
    """Suggestions to spend less (`costwarden insights --json`, `costwarden.insights/1`); over every project,
    so not for project-restricted keys."""
    caller.unrestricted("insights")
    read = named_period(read)
    result = insights_view(warden_of(request), InsightsQuery(period=read.period, show_all=show_all))
    return answer(result, format, name="insights")


@router.get("/sessions/{session_id}", responses=CSV_RESPONSE)
def session_route(
    request: Request,
    session_id: str,
    caller: Reader,
    period: Annotated[str | None, Query(description="Only its calls of this period (default: all).")] = None,
    start: str | None = None,
    end: str | None = None,
    format: Annotated[Format, Query(description="json or csv.")] = Format.JSON,
) -> Response:
    """One session in detail (`costwarden report --session ID --json`, `costwarden.session/1`)."""
    read = named_period(read_query(period=period, start=start, end=end))
    try:
        result = session_view(warden_of(request), SessionQuery(session=session_id, period=read.period))
    except SessionUnavailable as exc:
        raise ApiError(404, "not_found", str(exc), parameter="session_id") from None
    projects: list[str | None] = list(result.detail.projects) or [None]
    if caller.restricted and not all(caller.sees(p) for p in projects):
        raise ApiError(404, "not_found", f"session {session_id!r}: no events", parameter="session_id")
    return answer(result, format, name="session")
