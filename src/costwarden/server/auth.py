"""Who is calling: the API key of a request (`Authorization: Bearer <key>` or `X-API-Key: <key>`), its role
and its projects. Without any key in the database the API is open to this machine only (the server then
listens on loopback, and a request from elsewhere is refused); once a key exists, every request needs one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import Request

from costwarden.access import ApiKey, KeyRing, Role
from costwarden.server.errors import ApiError
from costwarden.storage.ledger import WhereValue, where_values

__all__ = ["Caller", "require", "is_loopback", "secret_of"]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def secret_of(request: Request) -> str | None:
    """The key a request carries, if any."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    given = request.headers.get("x-api-key")
    return given.strip() if given else None


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller of one request: its key (None when the server has no keys: local and unrestricted)."""

    key: ApiKey | None

    @property
    def projects(self) -> tuple[str, ...]:
        return self.key.projects if self.key is not None else ()

    @property
    def restricted(self) -> bool:
        return bool(self.projects)

    def sees(self, project: str | None) -> bool:
        return self.key is None or self.key.sees(project)

    def check_project(self, project: str | None, parameter: str = "project") -> None:
        """A 403 unless the key may use `project`."""
        if not self.sees(project):
            raise ApiError(
                403,
                "project_forbidden",
                f"this key is restricted to project(s) {', '.join(self.projects)}; "
                f"{'an unset project' if project is None else repr(project)} is outside them",
                parameter=parameter,
            )

    def unrestricted(self, what: str) -> None:
        """A 403 for a project-restricted key asking for `what` (which spans every project)."""
        if self.restricted:
            raise ApiError(403, "project_forbidden", f"{what} spans every project; this key is restricted")

    def restrict(self, where: Mapping[str, WhereValue]) -> dict[str, WhereValue]:
        """Read filters narrowed to the key's projects (a 403 for a project outside them)."""
        out = dict(where)
        if not self.restricted:
            return out
        if "project" in out:
            for value in where_values(out["project"]):
                self.check_project(value)
        else:
            projects = self.projects
            out["project"] = projects[0] if len(projects) == 1 else tuple(projects)
        return out


def require(role: Role) -> Callable[[Request], Caller]:
    """A FastAPI dependency: the request's caller, if its key grants `role` (else 401/403)."""

    def dependency(request: Request) -> Caller:
        ring: KeyRing = request.app.state.ring
        secret = secret_of(request)
        if not ring.enabled():
            client = request.client.host if request.client is not None else None
            if not is_loopback(client):
                raise ApiError(
                    401,
                    "unauthorized",
                    "this server has no API keys and answers this machine only "
                    "(create one with `costwarden keys create --role admin`)",
                )
            return Caller(None)
        if secret is None:
            raise ApiError(
                401,
                "unauthorized",
                "an API key is required (Authorization: Bearer <key> or X-API-Key: <key>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        key = ring.authenticate(secret)
        if key is None:
            raise ApiError(
                401,
                "unauthorized",
                "the API key is not valid (unknown or revoked)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not key.grants(role):
            raise ApiError(
                403, "role_forbidden", f"this needs a {role.value} key; this key is {key.role.value}"
            )
        request.state.caller = key.id
        return Caller(key)

    return dependency
