"""`/healthz` (the process answers) and `/readyz` (the database answers and its schema is current)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from costwarden.errors import CostwardenError
from costwarden.warden import Warden

__all__ = ["router", "readiness"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The server is up (no database access)."""
    return JSONResponse({"status": "ok"})


def readiness(warden: Warden) -> tuple[bool, dict[str, object]]:
    """Whether the database is reachable and fully migrated, and what was found."""
    backend = warden.backend
    if backend.kind == "memory":
        return True, {"database": "memory", "migrations": "current"}
    try:
        from sqlalchemy import text

        from costwarden.storage.sql.ledger import SqlLedger
        from costwarden.storage.sql.migrate import pending_migrations
        from costwarden.storage.sql.migrations import MIGRATIONS

        ledger = backend.ledger
        assert isinstance(ledger, SqlLedger)
        with ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        pending = pending_migrations(ledger.engine, MIGRATIONS)
    except (CostwardenError, OSError, AssertionError) as exc:
        return False, {"database": "unreachable", "reason": type(exc).__name__}
    except Exception as exc:  # a driver error of any kind: not ready
        return False, {"database": "unreachable", "reason": type(exc).__name__}
    if pending:
        return False, {"database": backend.kind, "migrations": "pending", "pending": pending}
    return True, {"database": backend.kind, "migrations": "current"}


@router.get("/readyz", responses={503: {"description": "Not ready: the database is unreachable or behind."}})
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and every migration is applied (503 otherwise)."""
    ok, found = await run_in_threadpool(readiness, request.app.state.warden)
    return JSONResponse({"status": "ready" if ok else "not ready", **found}, status_code=200 if ok else 503)
