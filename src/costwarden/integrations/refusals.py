"""A refusal as an HTTP answer: the budget's details as JSON, `retry-after` at the reset, and whether a
client should retry at all. Shared by the gateway and the LiteLLM proxy hook, so both refuse alike:
HTTP 429, `retry-after`, `x-should-retry` and costwarden's notice."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any

from costwarden.errors import BudgetExceeded, QueueTimeout, RunTerminated

__all__ = ["RETRY_WITHIN", "refusal_code", "refusal_details", "refusal_headers", "retry_after"]

RETRY_WITHIN = 60
"""A refusal lifting within this many seconds lets the SDKs retry (after `retry-after`)."""


def _plain(value: Decimal | int) -> str | int:
    return value if isinstance(value, int) else format(value.normalize(), "f")


def refusal_code(exc: BudgetExceeded) -> str:
    """`run_terminated`, `queue_timeout` or `budget_exceeded`."""
    if isinstance(exc, RunTerminated):
        return "run_terminated"
    if isinstance(exc, QueueTimeout):
        return "queue_timeout"
    return "budget_exceeded"


def refusal_details(exc: BudgetExceeded) -> dict[str, Any]:
    """The budget behind a refusal, as JSON (amounts as strings: exact decimals)."""
    out: dict[str, Any] = {
        "code": refusal_code(exc),
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


def refusal_headers(exc: BudgetExceeded, now: datetime) -> dict[str, str]:
    """`retry-after` (when the budget resets) and `x-should-retry`: `false` unless it resets within
    `RETRY_WITHIN` seconds (the OpenAI and Anthropic SDKs honour it before their own retry rules)."""
    seconds = retry_after(exc, now)
    headers: dict[str, str] = {}
    if seconds is not None:
        headers["retry-after"] = str(seconds)
    headers["x-should-retry"] = "true" if seconds is not None and seconds <= RETRY_WITHIN else "false"
    return headers
