"""What the API's routes share: the Warden of the app, JSON or CSV answers, the period of a read."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from costwarden.server.errors import ApiError
from costwarden.server.params import Format, ReadQuery
from costwarden.warden import Warden

__all__ = ["warden_of", "answer", "csv_response", "CSV_RESPONSE", "named_period"]

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}
}


def warden_of(request: Request) -> Warden:
    warden: Warden = request.app.state.warden
    return warden


def csv_response(text: str, name: str) -> Response:
    """A CSV download named `name.csv`."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def answer(result: Any, fmt: Format = Format.JSON, *, name: str = "costwarden") -> Response:
    """The result's JSON (`to_json()`), or its CSV (`to_csv()`) for `format=csv`."""
    if fmt == Format.CSV:
        to_csv = getattr(result, "to_csv", None)
        if to_csv is None:
            raise ApiError(400, "bad_parameter", "this answer has no CSV form", parameter="format")
        return csv_response(to_csv(), name)
    return JSONResponse(result.to_json())


def named_period(query: ReadQuery) -> ReadQuery:
    """A read whose view has no `all` period: a 400 for `period=all`."""
    if query.all_time:
        raise ApiError(400, "bad_parameter", "`all` is only a period of /usage", parameter="period")
    return query
