"""Who a gateway call is for: a virtual key (`costwarden keys create --gateway --project X --agent Y`,
sent as the client's API key) fixes the attribution and so the budgets that apply; `x-costwarden-*`
headers add to it where the key allows (`--allow session` ...; by default every field the key does not fix).

A request with a `cwk_...` key that is unknown, revoked or not a gateway key is refused (401 / 403). Without
one, the call is attributed by its headers alone, unless `gateway.require_key` is set (401). The virtual key
never leaves the gateway.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution
from costwarden.gateway.attribution import attribution_from_headers

__all__ = ["Caller", "Denied", "KeyCheck", "client_secret"]

SECRET_PREFIX = "cwk_"


class Denied(Exception):
    """The request's key is refused: `status` (401 / 403) and a message naming why."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Caller:
    """The attribution of a call and whether its credentials were a virtual key (then not forwarded)."""

    attribution: Attribution
    virtual_key: bool


def client_secret(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The API key a client sent: `x-api-key` (Anthropic) or `Authorization: Bearer` (OpenAI)."""
    for name, value in headers:
        if name == b"x-api-key":
            return value.decode("latin-1").strip()
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            if text[:7].lower() == "bearer ":
                return text[7:].strip()
    return None


def _header(field: str) -> str:
    return "x-costwarden-tags" if field == "tags" else f"x-costwarden-{field.replace('_', '-')}"


class KeyCheck:
    """Authenticates virtual keys against the key store (`costwarden.access`), lazily opened."""

    def __init__(self, warden: Any, *, require: bool, use_headers: bool) -> None:
        self.warden = warden
        self.require = require
        self.use_headers = use_headers
        self._ring: Any = None
        self._access: Any = None

    def _store(self) -> tuple[Any, Any]:
        """The key ring and the `costwarden.access` module (the key store, opened on first use)."""
        if self._ring is None:
            try:
                self._access = importlib.import_module("costwarden.access")
            except ImportError:
                raise Denied(
                    401, "this costwarden has no key store: gateway keys are not available"
                ) from None
            self._ring = self._access.key_ring(self.warden)
        return self._ring, self._access

    def caller(self, headers: list[tuple[bytes, bytes]]) -> Caller:
        """The caller of a request (raises `Denied`, or `ValidationError` for a malformed header)."""
        secret = client_secret(headers)
        from_headers = attribution_from_headers(headers) if self.use_headers else None
        if secret is None or not secret.startswith(SECRET_PREFIX):
            if self.require:
                raise Denied(
                    401, "this gateway needs a costwarden gateway key (costwarden keys create --gateway)"
                )
            return Caller(from_headers or Attribution(), virtual_key=False)
        ring, access = self._store()
        key = ring.authenticate(secret)
        if key is None:
            raise Denied(401, "unknown or revoked costwarden key")
        if not key.grants(access.Role.GATEWAY):
            raise Denied(403, f"costwarden key {key.id} is a {key.role.value} key, not a gateway key")
        base: Attribution = key.attribution
        if from_headers is None:
            return Caller(base, virtual_key=True)
        for field in (*ATTRIBUTION_FIELDS, "tags"):
            given = from_headers.tags if field == "tags" else getattr(from_headers, field)
            if given and not key.may_override(field):
                raise Denied(403, f"costwarden key {key.id} does not allow {_header(field)}")
        return Caller(base.merged(from_headers), virtual_key=True)
