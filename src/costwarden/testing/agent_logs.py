"""Writers of Claude Code and Codex log lines in their real formats (compact JSON), for tests, demos and
benchmarks: `claude_assistant(...)` is one assistant line (one streaming snapshot of a message),
`codex_token_count(...)` one Codex token-count event, and so on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "compact",
    "claude_user",
    "claude_assistant",
    "codex_meta",
    "codex_turn_context",
    "codex_usage",
    "codex_token_count",
    "write",
    "append",
]


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def claude_user(session: str, cwd: str, at: str, text: str = "please fix the failing test") -> str:
    return compact(
        {
            "parentUuid": None,
            "isSidechain": False,
            "userType": "external",
            "cwd": cwd,
            "sessionId": session,
            "version": "2.0.14",
            "gitBranch": "main",
            "type": "user",
            "message": {"role": "user", "content": text},
            "uuid": f"u-{at}",
            "timestamp": at,
        }
    )


def claude_assistant(
    *,
    message_id: str,
    request_id: str | None,
    at: str,
    output: int,
    session: str = "5f0c1c9e-sess",
    cwd: str = "/home/dev/shop",
    model: str = "claude-sonnet-4-5-20250929",
    input_tokens: int = 4,
    cache_read: int = 20000,
    write_5m: int = 1000,
    write_1h: int = 0,
    cost_usd: float | None = None,
    sidechain: bool = False,
) -> str:
    record: dict[str, Any] = {
        "parentUuid": "p-1",
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": "2.0.14",
        "gitBranch": "main",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "Looking at the test now."}],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": write_5m + write_1h,
                "cache_read_input_tokens": cache_read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": write_5m,
                    "ephemeral_1h_input_tokens": write_1h,
                },
                "output_tokens": output,
                "service_tier": "standard",
            },
        },
        "type": "assistant",
        "uuid": f"a-{message_id}-{output}",
        "timestamp": at,
    }
    if request_id is not None:
        record["requestId"] = request_id
    if cost_usd is not None:
        record["costUSD"] = cost_usd
    return compact(record)


def codex_meta(session: str, cwd: str, at: str) -> str:
    payload = {
        "id": session,
        "timestamp": at,
        "cwd": cwd,
        "originator": "codex_cli_rs",
        "cli_version": "0.46.0",
    }
    return compact({"timestamp": at, "type": "session_meta", "payload": payload})


def codex_turn_context(model: str, cwd: str, at: str) -> str:
    payload = {
        "cwd": cwd,
        "approval_policy": "on-request",
        "model": model,
        "effort": "medium",
        "summary": "auto",
    }
    return compact({"timestamp": at, "type": "turn_context", "payload": payload})


def codex_usage(inp: int, cached: int, out: int, reasoning: int) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": inp + out,
    }


def codex_token_count(
    at: str, *, last: dict[str, int] | None, total: dict[str, int] | None, used_percent: float = 12.0
) -> str:
    info: dict[str, Any] = {"model_context_window": 272000}
    if last is not None:
        info["last_token_usage"] = last
    if total is not None:
        info["total_token_usage"] = total
    rate_limits = {
        "primary": {"used_percent": used_percent, "window_minutes": 300, "resets_in_seconds": 3600},
        "secondary": {"used_percent": 3.0, "window_minutes": 10080, "resets_in_seconds": 500000},
    }
    payload = {"type": "token_count", "info": info, "rate_limits": rate_limits}
    return compact({"timestamp": at, "type": "event_msg", "payload": payload})


def write(path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
