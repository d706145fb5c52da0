"""Reads of spend: the events (`/usage`, cursor pages), the summary, rankings (`by-agent`, `by-project`,
`by-model`, `by-user`, `top`), cost over time (`daily`, `trends`) and usage patterns (`analyze`). Each answers
the same view, with the same JSON schema, as the CLI command it names."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from costwarden.access import Role
from costwarden.server.api.common import CSV_RESPONSE, answer, named_period, warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.params import Format, ReadQuery, read_query
from costwarden.views.analyze import AnalyzeQuery, analyze
from costwarden.views.report import ReportQuery, summary_report
from costwarden.views.top import KINDS, TopQuery, top
from costwarden.views.trends import INTERVALS, STACKS, TrendsQuery, trends
from costwarden.views.usage import MAX_PAGE, UsageQuery, usage_page

__all__ = ["router"]

router = APIRouter(tags=["usage"])

Reader = Annotated[Caller, Depends(require(Role.READER))]
Read = Annotated[ReadQuery, Depends(read_query)]
Fmt = Annotated[Format, Query(description="json or csv.")]


@router.get("/usage", responses=CSV_RESPONSE)
def usage(
    request: Request,
    caller: Reader,
    read: Read,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Events per page.")] = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the page before.")] = None,
    format: Fmt = Format.JSON,
) -> Response:
    """The events of the period (default this month; `period=all`: every event kept), oldest first, a page
    at a time (`costwarden.usage/1`; each event as `costwarden export --format json`)."""
    page = usage_page(
        warden_of(request),
        UsageQuery(
            period=read.period,
            where=caller.restrict(read.where),
            limit=limit,
            cursor=cursor,
            default="all" if read.all_time else "this-month",
        ),
    )
    response = answer(page, format, name="usage")
    if page.next_cursor is not None:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return response


@router.get("/usage/summary", responses=CSV_RESPONSE)
def summary(
    request: Request,
    caller: Reader,
    read: Read,
    group_by: Annotated[list[str] | None, Query(description="Group by these fields (repeatable).")] = None,
    top: Annotated[int, Query(ge=0, le=1000, description="How many top sessions.")] = 5,
    format: Fmt = Format.JSON,
) -> Response:
    """What was spent over the period (default this month), as `costwarden report --json`
    (`costwarden.report/2`); CSV as `costwarden report --csv`."""
    read = named_period(read)
    result = summary_report(
        warden_of(request),
        ReportQuery(
            period=read.period,
            group_by=tuple(group_by or ()),
            where=caller.restrict(read.where),
            top=top,
            breakdown=format == Format.CSV,
        ),
    )
    return answer(result, format, name="summary")


def _ranked(
    request: Request, caller: Caller, read: ReadQuery, kind: str, limit: int, fmt: Format
) -> Response:
    read = named_period(read)
    result = top(
        warden_of(request),
        TopQuery(kind=kind, limit=limit, period=read.period, where=caller.restrict(read.where)),
    )
    return answer(result, fmt, name=f"by-{kind}")


Limit = Annotated[int, Query(ge=1, le=10_000, description="At most this many rows.")]


@router.get("/usage/by-agent", responses=CSV_RESPONSE)
def by_agent(
    request: Request, caller: Reader, read: Read, limit: Limit = 100, format: Fmt = Format.JSON
) -> Response:
    """Spend per agent, most expensive first (`costwarden.top/1`, as `costwarden top agents --json`)."""
    return _ranked(request, caller, read, "agents", limit, format)


@router.get("/usage/by-project", responses=CSV_RESPONSE)
def by_project(
    request: Request, caller: Reader, read: Read, limit: Limit = 100, format: Fmt = Format.JSON
) -> Response:
    """Spend per project, most expensive first (`costwarden.top/1`)."""
    return _ranked(request, caller, read, "projects", limit, format)


@router.get("/usage/by-model", responses=CSV_RESPONSE)
def by_model(
    request: Request, caller: Reader, read: Read, limit: Limit = 100, format: Fmt = Format.JSON
) -> Response:
    """Spend per provider and model, most expensive first (`costwarden.top/1`)."""
    return _ranked(request, caller, read, "models", limit, format)


@router.get("/usage/by-user", responses=CSV_RESPONSE)
def by_user(
    request: Request, caller: Reader, read: Read, limit: Limit = 100, format: Fmt = Format.JSON
) -> Response:
    """Spend per user, most expensive first (`costwarden.top/1`)."""
    return _ranked(request, caller, read, "users", limit, format)


@router.get("/usage/top", responses=CSV_RESPONSE)
def top_spenders(
    request: Request,
    caller: Reader,
    read: Read,
    kind: Annotated[str, Query(description=f"One of {', '.join(KINDS)}.")] = "sessions",
    limit: Limit = 10,
    format: Fmt = Format.JSON,
) -> Response:
    """The biggest spenders of a kind (`costwarden top KIND --json`, `costwarden.top/1`)."""
    return _ranked(request, caller, read, kind, limit, format)


Stack = Annotated[
    str | None,
    Query(description=f"Also split each day by {', '.join(STACKS)} (`stacks`; CSV: those rows)."),
]


@router.get("/usage/daily", responses=CSV_RESPONSE)
def daily(
    request: Request, caller: Reader, read: Read, stack: Stack = None, format: Fmt = Format.JSON
) -> Response:
    """Cost per day of the period (default the last 30 days; `start`/`end` as in seed 001), every day
    included (`costwarden.trends/1`); `stack=project` (agent, model, provider, user) adds each day's cost
    per project."""
    return _trends(request, caller, read, "day", format, stack)


@router.get("/usage/trends", responses=CSV_RESPONSE)
def trends_route(
    request: Request,
    caller: Reader,
    read: Read,
    interval: Annotated[str, Query(description=f"One of {', '.join(INTERVALS)}.")] = "day",
    stack: Stack = None,
    format: Fmt = Format.JSON,
) -> Response:
    """Cost per day, week or month (`costwarden trends --json`, `costwarden.trends/1`)."""
    return _trends(request, caller, read, interval, format, stack)


def _trends(
    request: Request, caller: Caller, read: ReadQuery, interval: str, fmt: Format, stack: str | None = None
) -> Response:
    read = named_period(read)
    result = trends(
        warden_of(request),
        TrendsQuery(interval=interval, period=read.period, where=caller.restrict(read.where), stack=stack),
    )
    return answer(result, fmt, name=f"trends-{interval}")


@router.get("/usage/analyze")
def analyze_route(
    request: Request,
    caller: Reader,
    read: Read,
    by_hour: bool = False,
    by_day: bool = False,
    by_model: bool = False,
) -> Response:
    """Usage patterns: by hour of day, day of week, model (`costwarden analyze --json`,
    `costwarden.analyze/1`; none chosen: all three)."""
    read = named_period(read)
    result = analyze(
        warden_of(request),
        AnalyzeQuery(
            by_hour=by_hour,
            by_day=by_day,
            by_model=by_model,
            period=read.period,
            where=caller.restrict(read.where),
        ),
    )
    return answer(result)
