"""API errors: one JSON shape (`{"error": {"code", "message", "parameter", ...}}`) for every refusal, and
the handlers that turn costwarden's errors into it. Messages never carry a secret (keys, tokens)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from costwarden.errors import (
    BudgetExceeded,
    ConfigError,
    LedgerError,
    QueueTimeout,
    QuotaExhausted,
    RunTerminated,
    ValidationError,
)
from costwarden.views.errors import QueryError

__all__ = ["ApiError", "ErrorBody", "ERROR_RESPONSES", "install_error_handlers", "OPTION_PARAMETERS"]

_log = logging.getLogger("costwarden.server")

OPTION_PARAMETERS = {
    "--from": "start",
    "--to": "end",
    "--where": "where",
    "--by": "group_by",
    "--interval": "interval",
    "--kind": "kind",
    "--budget": "budget",
    "--window-days": "window_days",
    "--limit": "limit",
    "--status": "status",
    "--channel": "channel",
    "--alert": "alert",
}
"""The API parameter a CLI flag named in a view's `QueryError` stands for."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    parameter: str | None = None
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every error the API answers itself (request validation by FastAPI answers 422)."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "A parameter or field cannot be accepted; `parameter` names it."),
        (401, "No API key, or not a valid one."),
        (403, "The key's role or projects do not allow this."),
        (404, "Not found."),
        (409, "The request conflicts with what is stored."),
        (413, "The request body is larger than the server accepts."),
        (410, "The admission expired before it was settled."),
        (429, "A budget refused the call; `details.resets_at` says when it has room again."),
        (503, "The database cannot be reached, or was too busy (`storage_busy`: retry after `Retry-After`)."),
    )
}


class ApiError(Exception):
    """An error answered as `{"error": {...}}` with `status`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        parameter: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter
        self.details = details
        self.headers = headers

    def response(self) -> JSONResponse:
        detail: dict[str, Any] = {"code": self.code, "message": self.message, "parameter": self.parameter}
        if self.details is not None:
            detail["details"] = self.details
        return JSONResponse({"error": detail}, status_code=self.status, headers=self.headers)


def query_error(exc: QueryError) -> ApiError:
    parameter = OPTION_PARAMETERS.get(exc.option or "", exc.option)
    return ApiError(400, "bad_parameter", exc.message, parameter=parameter)


def when(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def refusal(exc: BudgetExceeded, now: datetime) -> ApiError:
    """A budget refusal: 429 with the notice, the budget and when it resets (`Retry-After` in seconds);
    `code` says which kind (`budget_exceeded`, `queue_timeout`, `quota_exhausted`). A run a `terminate_run`
    budget ended is 409 `run_terminated` (it has no room again: start another run)."""
    details = {
        "budget_id": exc.budget_id,
        "scope": exc.scope,
        "period": exc.period,
        "unit": exc.unit,
        "limit": str(exc.limit) if exc.limit is not None else None,
        "spent": str(exc.spent) if exc.spent is not None else None,
        "reserved": str(exc.reserved) if exc.reserved is not None else None,
        "requested": str(exc.requested) if exc.requested is not None else None,
        "action": exc.action,
        "resets_at": when(exc.resets_at),
    }
    if isinstance(exc, RunTerminated):
        return ApiError(409, "run_terminated", str(exc), parameter="run", details=details)
    code = "budget_exceeded"
    if isinstance(exc, QueueTimeout):
        code = "queue_timeout"
    elif isinstance(exc, QuotaExhausted):
        code = "quota_exhausted"
    headers = None
    if exc.resets_at is not None:
        headers = {"Retry-After": str(max(1, int((exc.resets_at - now).total_seconds() + 0.999)))}
    return ApiError(429, code, str(exc), details=details, headers=headers)


def busy(exc: BaseException) -> bool:
    """Whether a storage failure is contention that ends by itself (SQLite's lock not won within its busy
    timeout, no pooled connection free in time), so the same request can be sent again."""
    text = f"{exc} {exc.__cause__ or ''}".lower()
    return "database is locked" in text or "queuepool limit" in text


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def bad_query(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QueryError)
        return query_error(exc).response()

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        return ApiError(400, "invalid", str(exc), parameter=exc.field).response()

    async def config(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ConfigError)
        return ApiError(409, "not_configured", str(exc), parameter=exc.key).response()

    async def ledger(request: Request, exc: Exception) -> JSONResponse:
        _log.warning("%s %s: storage failed: %s", request.method, request.url.path, exc)
        if busy(exc):
            return ApiError(
                503,
                "storage_busy",
                "the database was too busy to answer in time; nothing was changed: retry the request",
                headers={"Retry-After": "1"},
            ).response()
        return ApiError(503, "storage_unavailable", "the database cannot be reached or failed").response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(QueryError, bad_query)
    app.add_exception_handler(ValidationError, invalid)
    app.add_exception_handler(ConfigError, config)
    app.add_exception_handler(LedgerError, ledger)
