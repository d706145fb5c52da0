"""What the gateway itself answers, in the client's own wire format: refusals (HTTP 429 with
`retry-after` at the budget's reset and costwarden's notice), its own errors, and the model list.

OpenAI clients get `{"error": {"message", "type", "param", "code"}}`, Anthropic clients
`{"type": "error", "error": {"type", "message"}}`; both carry a `costwarden` object with the budget's
details. `x-should-retry: false` tells the OpenAI and Anthropic SDKs not to retry a refusal that will not
lift within a minute (they honour it before their own retry rules).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from costwarden.errors import BudgetExceeded
from costwarden.integrations.refusals import refusal_code, refusal_details, refusal_headers

__all__ = ["Reply", "error_reply", "json_reply", "refusal_reply", "models_reply"]

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete response: status, headers (lower-case names), body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _json(status: int, payload: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None) -> Reply:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return Reply(status, headers + (extra or []), body)


def json_reply(payload: dict[str, Any], status: int = 200) -> Reply:
    """A JSON answer of the gateway's own."""
    return _json(status, payload)


def error_reply(
    api: str, status: int, message: str, *, kind: str | None = None, details: dict[str, Any] | None = None
) -> Reply:
    """An error of the gateway's own (bad request, unknown model, upstream unreachable) for `api`."""
    if api == "anthropic":
        error = {"type": kind or _ANTHROPIC_TYPES.get(status, "api_error"), "message": message}
        payload: dict[str, Any] = {"type": "error", "error": error}
    else:
        openai_kind = kind or ("invalid_request_error" if status < 500 else "server_error")
        payload = {"error": {"message": message, "type": openai_kind, "param": None, "code": openai_kind}}
    if details:
        payload["costwarden"] = details
    return _json(status, payload)


def refusal_reply(api: str, exc: BudgetExceeded, now: datetime) -> Reply:
    """HTTP 429 for a call the budgets refused, carrying the notice, in the client's wire format."""
    message = str(exc)
    if api == "anthropic":
        payload: dict[str, Any] = {"type": "error", "error": {"type": "rate_limit_error", "message": message}}
    else:
        # `insufficient_quota` is what OpenAI answers when an account's money is spent: clients stop there
        error = {"message": message, "type": "insufficient_quota", "param": None, "code": refusal_code(exc)}
        payload = {"error": error}
    payload["costwarden"] = refusal_details(exc)
    extra = [(name.encode(), value.encode()) for name, value in refusal_headers(exc, now).items()]
    return _json(429, payload, extra)


def models_reply(api: str, models: list[tuple[str, str]]) -> Reply:
    """`GET /v1/models` in the OpenAI list shape, or Anthropic's when the client is Anthropic's."""
    if api == "anthropic":
        data = [
            {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}
            for name, _ in models
        ]
        return _json(
            200,
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            },
        )
    listed = [{"id": name, "object": "model", "created": 0, "owned_by": owner} for name, owner in models]
    return _json(200, {"object": "list", "data": listed})
