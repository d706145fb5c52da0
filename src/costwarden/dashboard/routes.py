"""The dashboard's routes: the page at `/` (no data in it: it asks for its panels with the key the browser
holds), its assets, each panel as HTML (`/dashboard/panels/NAME`, a reader key, the API's query parameters)
and a fingerprint of what the panels show (`/dashboard/version`), which the page polls to update itself."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from costwarden.access import KeyRing, Role
from costwarden.dashboard.assets import asset, page_html
from costwarden.dashboard.context import API_PARAMS, DEFAULT_PERIOD, TABLES, PageQuery
from costwarden.server.api.common import named_period
from costwarden.server.auth import Caller, is_loopback, require, secret_of
from costwarden.server.errors import ApiError
from costwarden.server.params import ReadQuery, read_query
from costwarden.views.periods import PeriodFlags
from costwarden.views.trends import STACKS
from costwarden.warden import Warden

__all__ = ["dashboard_router", "PANELS"]

Reader = Annotated[Caller, Depends(require(Role.READER))]
Read = Annotated[ReadQuery, Depends(read_query)]


def _panels() -> dict[str, Callable[[PageQuery], str]]:
    from costwarden.dashboard.feed import alerts_panel, insights_panel
    from costwarden.dashboard.limits import limits_panel
    from costwarden.dashboard.spend import chart_panel, table_panel
    from costwarden.dashboard.top_row import top_row

    return {
        "overview": top_row,
        "chart": chart_panel,
        "table": table_panel,
        "limits": limits_panel,
        "alerts": alerts_panel,
        "insights": insights_panel,
    }


PANELS: tuple[str, ...] = ("overview", "chart", "table", "limits", "alerts", "insights")


def _page(request: Request, caller: Caller, read: ReadQuery, stack: str, table: str) -> PageQuery:
    if stack not in STACKS:
        raise ApiError(
            400, "bad_parameter", f"cannot stack by {stack!r}; choose {', '.join(STACKS)}", parameter="stack"
        )
    if table not in TABLES and not (table.startswith("tag:") and table[4:].strip()):
        choices = f"{', '.join(TABLES)} or tag:NAME"
        raise ApiError(400, "bad_parameter", f"no table {table!r}; choose {choices}", parameter="table")
    params = [(k, v) for k, v in request.query_params.multi_items() if k in API_PARAMS]
    if not read.period.given and not read.all_time:
        read = ReadQuery(PeriodFlags(last_30_days=True), read.where)
        params.insert(0, ("period", DEFAULT_PERIOD))
    read = named_period(read)
    warden: Warden = request.app.state.warden
    return PageQuery(warden, caller, read, params, stack, table)


Stack = Annotated[str, Query(description="What the daily bars are stacked by.")]
Table = Annotated[str, Query(description="Which breakdown the table shows.")]


def _access(request: Request) -> dict[str, object]:
    """Whether this request may read (never an error: the page asks before it asks for panels)."""
    ring: KeyRing = request.app.state.ring
    if not ring.enabled():
        client = request.client.host if request.client is not None else None
        if is_loopback(client):
            return {"allowed": True, "open": True, "role": None, "message": ""}
        return {"allowed": False, "open": False, "role": None, "message": "this server answers loopback only"}
    secret = secret_of(request)
    if secret is None:
        return {"allowed": False, "open": False, "role": None, "message": "an API key is required"}
    key = ring.authenticate(secret)
    if key is None:
        return {"allowed": False, "open": False, "role": None, "message": "the API key is not valid"}
    if not key.grants(Role.READER):
        return {"allowed": False, "open": False, "role": key.role.value, "message": "this key cannot read"}
    return {"allowed": True, "open": False, "role": key.role.value, "message": ""}


def dashboard_router(*, poll_seconds: float = 5.0) -> APIRouter:
    """The routes of the dashboard (left out of the API's OpenAPI schema); the page asks every
    `poll_seconds` whether its figures changed."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(page_html(poll_seconds), headers={"Cache-Control": "no-cache"})

    @router.get("/dashboard/access")
    async def access(request: Request) -> JSONResponse:
        answer = await run_in_threadpool(_access, request)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    @router.get("/dashboard/assets/{name}")
    def assets(name: Annotated[str, Path(max_length=64)]) -> Response:
        found = asset(name)
        if found is None:
            raise ApiError(404, "not_found", f"no asset {name!r}", parameter="name")
        body, media = found
        return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=3600"})

    @router.get("/dashboard/panels/{name}")
    async def panel(
        request: Request,
        name: Annotated[str, Path(max_length=32)],
        caller: Reader,
        read: Read,
        stack: Stack = "project",
        table: Table = "projects",
    ) -> HTMLResponse:
        draw = _panels().get(name)
        if draw is None:
            raise ApiError(
                404, "not_found", f"no panel {name!r}; choose {', '.join(PANELS)}", parameter="name"
            )
        page_query = _page(request, caller, read, stack, table)
        html = await run_in_threadpool(draw, page_query)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @router.get("/dashboard/sessions/{session_id}")
    async def session(
        request: Request,
        session_id: Annotated[str, Path(max_length=1024)],
        caller: Reader,
        read: Read,
    ) -> HTMLResponse:
        from costwarden.dashboard.session import session_panel

        page_query = _page(request, caller, read, "project", "projects")
        html = await run_in_threadpool(session_panel, page_query, session_id)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @router.get("/dashboard/version")
    async def version(request: Request, caller: Reader, read: Read) -> JSONResponse:
        from costwarden.dashboard.fingerprint import fingerprint

        page_query = _page(request, caller, read, "project", "projects")
        text = await run_in_threadpool(fingerprint, page_query)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return JSONResponse({"version": digest}, headers={"Cache-Control": "no-store"})

    return router
