"""What Claude Code passes a statusline command on stdin, checked field by field.

    {"session_id": "...", "transcript_path": "/home/me/.claude/projects/-home-me-shop/<session>.jsonl",
     "cwd": "/home/me/shop", "model": {"id": "claude-opus-4-1", "display_name": "Opus"},
     "workspace": {"current_dir": "/home/me/shop", "project_dir": "/home/me/shop"},
     "version": "2.1.80", "cost": {"total_cost_usd": 0.42, ...},
     "rate_limits": {"five_hour": {"used_percentage": 23.5, "resets_at": 1738425600},
                     "seven_day": {"used_percentage": 41.2, "resets_at": 1738857600}}}

Every field is optional (Claude Code adds fields over time and leaves some out: `rate_limits` only on
subscriptions, after the first answer); a field that is present with the wrong type is an error naming it.
Unknown fields are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["Payload", "PayloadError", "parse_payload"]


class PayloadError(ValueError):
    """The statusline input is not what Claude Code sends; the message names the field."""


@dataclass(frozen=True, slots=True)
class Payload:
    session_id: str | None = None
    transcript_path: str | None = None
    model_id: str | None = None
    model_name: str | None = None
    cwd: str | None = None
    cost_usd: Decimal | None = None
    """Claude Code's own estimate of the session's cost (`cost.total_cost_usd`)."""
    five_hour: Decimal | None = None
    """`rate_limits.five_hour.used_percentage` (0-100)."""
    seven_day: Decimal | None = None
    """`rate_limits.seven_day.used_percentage` (0-100)."""


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object"
    )


def _at(data: dict[str, Any], path: str) -> object:
    """The value at a dotted path (None when any part is absent); a part that is not an object is an error."""
    node: object = data
    walked: list[str] = []
    for part in path.split("."):
        if node is None:
            return None
        if not isinstance(node, dict):
            raise PayloadError(f"{'.'.join(walked)}: expected an object, got {_type_name(node)}")
        node = node.get(part)
        walked.append(part)
    return node


def _text(data: dict[str, Any], path: str) -> str | None:
    value = _at(data, path)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{path}: expected a string, got {_type_name(value)} ({json.dumps(value)[:40]})")
    if "\x00" in value:
        raise PayloadError(f"{path}: contains a NUL character")
    return value or None


def _number(data: dict[str, Any], path: str, *, most: Decimal | None = None) -> Decimal | None:
    value = _at(data, path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"{path}: expected a number, got {_type_name(value)} ({json.dumps(value)[:40]})")
    number = Decimal(str(value))
    if not number.is_finite() or number < 0 or (most is not None and number > most):
        bound = f"between 0 and {most}" if most is not None else "a non-negative number"
        raise PayloadError(f"{path}: expected {bound}, got {value}")
    return number


def parse_payload(text: str) -> Payload | None:
    """The payload in `text` (None when `text` is empty or blank: run without Claude Code)."""
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise PayloadError("nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {_type_name(data)}")
    cwd = _text(data, "cwd")
    current = _text(data, "workspace.current_dir")
    hundred = Decimal(100)
    return Payload(
        session_id=_text(data, "session_id"),
        transcript_path=_text(data, "transcript_path"),
        model_id=_text(data, "model.id"),
        model_name=_text(data, "model.display_name"),
        cwd=cwd or current,
        cost_usd=_number(data, "cost.total_cost_usd"),
        five_hour=_number(data, "rate_limits.five_hour.used_percentage", most=hundred * 10),
        seven_day=_number(data, "rate_limits.seven_day.used_percentage", most=hundred * 10),
    )
