"""What the gateway itself answers, in the client's own wire format: refusals (HTTP 429 with
`retry-after` at the budget's reset and costwarden's notice), its own errors, and the model list.

OpenAI clients get `{"error": {"message", "type", "param", "code"}}`, Anthropic clients
`{"type": "error", "error": {"type", "message"}}`; both carry a `costwarden` object with the budget's
details. `x-should-retry: false` tells the OpenAI and Anthropic SDKs not to retry a refusal that will not
lift within a minute (they honour it before their own retry rules).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from costwarden.errors import BudgetExceeded, QueueTimeout, RunTerminated

__all__ = ["Reply", "error_reply", "refusal_reply", "models_reply", "RETRY_WITHIN"]

RETRY_WITHIN = 60
"""A refusal lifting within this many seconds lets the SDKs retry (after `retry-after`)."""

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


def _plain(value: Decimal | int) -> str | int:
    return value if isinstance(value, int) else format(value.normalize(), "f")


def refusal_details(exc: BudgetExceeded) -> dict[str, Any]:
    """The budget behind a refusal, as JSON (amounts as strings: exact decimals)."""
    out: dict[str, Any] = {
        "budget": exc.budget_id,
        "scope": exc.scope,
        "period": exc.period,
        "unit": exc.unit,
        "limit": _plain(exc.limit),
        "spent": _plain(exc.spent),
        "reserved": _plain(exc.reserved),
        "requested": _plain(exc.requested),
        "action": exc.action,
        "resets_at": exc.resets_at.isoformat().replace("+00:00", "Z") if exc.resets_at else None,
        "notice": str(exc),
    }
    if isinstance(exc, RunTerminated):
        out["run"] = exc.run
    return out


def retry_after(exc: BudgetExceeded, now: datetime) -> int | None:
    """Seconds until the refusing budget resets (at least 1), or None when it never resets."""
    if exc.resets_at is None or isinstance(exc, RunTerminated):
        return None
    return max(1, math.ceil((exc.resets_at - now).total_seconds()))


def refusal_reply(api: str, exc: BudgetExceeded, now: datetime) -> Reply:
    """HTTP 429 for a call the budgets refused, carrying the notice, in the client's wire format."""
    code = (
        "run_terminated"
        if isinstance(exc, RunTerminated)
        else "queue_timeout"
        if isinstance(exc, QueueTimeout)
        else "budget_exceeded"
    )
    message = str(exc)
    if api == "anthropic":
        payload: dict[str, Any] = {"type": "error", "error": {"type": "rate_limit_error", "message": message}}
    else:
        # `insufficient_quota` is what OpenAI answers when an account's money is spent: clients stop there
        payload = {"error": {"message": message, "type": "insufficient_quota", "param": None, "code": code}}
    payload["costwarden"] = refusal_details(exc)
    seconds = retry_after(exc, now)
    extra: list[tuple[bytes, bytes]] = []
    if seconds is not None:
        extra.append((b"retry-after", str(seconds).encode()))
    retry = seconds is not None and seconds <= RETRY_WITHIN
    extra.append((b"x-should-retry", b"true" if retry else b"false"))
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
