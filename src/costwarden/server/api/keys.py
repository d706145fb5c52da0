"""API keys over the API (`admin`, unrestricted): list, create (the secret answered once), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from costwarden.access import KeyRing, Role
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError

__all__ = ["router"]

router = APIRouter(tags=["keys"])

Admin = Annotated[Caller, Depends(require(Role.ADMIN))]


class KeyIn(BaseModel):
    """A key to create: its role, optional projects (a gateway key: its one project) and name; gateway keys
    also an agent and the attribution fields callers may set (`overrides`)."""

    model_config = ConfigDict(extra="forbid")

    role: str = "reader"
    name: str | None = Field(default=None, max_length=200)
    projects: list[str] = Field(default_factory=list, max_length=1000)
    agent: str | None = Field(default=None, max_length=255)
    overrides: list[str] | None = None


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.ring
    return ring


@router.get("/keys")
def list_keys(request: Request, caller: Admin, include_revoked: bool = False) -> JSONResponse:
    """The keys, never their secrets (as `costwarden keys list --json`)."""
    caller.unrestricted("managing keys")
    return JSONResponse([k.to_json() for k in _ring(request).list(include_revoked=include_revoked)])


@router.post("/keys", status_code=201)
def create_key(request: Request, caller: Admin, body: KeyIn) -> JSONResponse:
    """Create a key; the answer carries its `secret`, the only time it is shown."""
    caller.unrestricted("managing keys")
    new = _ring(request).create(
        role=body.role, name=body.name, projects=body.projects, agent=body.agent, overrides=body.overrides
    )
    return JSONResponse({**new.key.to_json(), "secret": new.secret}, status_code=201)


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(
    request: Request, caller: Admin, key_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> Response:
    """Revoke a key (it stops working within a second on every server of the database)."""
    caller.unrestricted("managing keys")
    if not _ring(request).revoke(key_id):
        raise ApiError(404, "not_found", f"no active key {key_id!r}", parameter="key_id")
    return Response(status_code=204)
