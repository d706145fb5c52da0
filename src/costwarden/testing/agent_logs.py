"""Writers of agents' log lines and files in their real formats, for tests, demos and benchmarks:
`claude_assistant(...)` is one Claude Code assistant line (one streaming snapshot of a message),
`codex_token_count(...)` one Codex token-count event, `gemini_message(...)` one Gemini CLI message line,
`qwen_assistant(...)` one Qwen Code record, `opencode_assistant(...)` / `opencode_step_finish(...)` an
OpenCode message and step part (`write_opencode_storage` / `write_opencode_db` store them as OpenCode
does), `copilot_chat_span(...)` one span of Copilot CLI's OpenTelemetry export, `amp_thread(...)` an Amp
thread. Each writes what the tool itself writes (field names, nesting, which counts include which)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

__all__ = [
    "compact",
    "claude_user",
    "claude_assistant",
    "claude_limit_reached",
    "codex_meta",
    "codex_turn_context",
    "codex_usage",
    "codex_token_count",
    "write",
    "append",
    "gemini_meta",
    "gemini_user",
    "gemini_record",
    "gemini_message",
    "gemini_set",
    "gemini_rewind",
    "gemini_legacy_session",
    "qwen_user",
    "qwen_assistant",
    "opencode_assistant",
    "opencode_user",
    "opencode_step_finish",
    "opencode_tokens",
    "write_opencode_storage",
    "write_opencode_db",
    "copilot_chat_span",
    "copilot_log_record",
    "amp_message",
    "amp_thread",
    "pretty",
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


def claude_limit_reached(
    at: str, text: str, *, session: str = "5f0c1c9e-sess", cwd: str = "/home/dev/shop"
) -> str:
    """The synthetic assistant message Claude Code writes when a subscription limit is hit, e.g.
    `Claude AI usage limit reached|1765836000` or `5-hour limit reached ∙ resets 3pm`."""
    record: dict[str, Any] = {
        "parentUuid": "p-1",
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": "2.0.14",
        "gitBranch": "main",
        "message": {
            "id": f"limit-{at}",
            "container": None,
            "model": "<synthetic>",
            "role": "assistant",
            "stop_reason": "stop_sequence",
            "stop_sequence": "",
            "type": "message",
            "usage": {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "server_tool_use": {"web_search_requests": 0},
                "service_tier": None,
            },
            "content": [{"type": "text", "text": text}],
        },
        "type": "assistant",
        "uuid": f"a-limit-{at}",
        "timestamp": at,
        "isApiErrorMessage": True,
    }
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
    at: str,
    *,
    last: dict[str, int] | None,
    total: dict[str, int] | None,
    used_percent: float = 12.0,
    rate_limits: dict[str, Any] | None = None,
) -> str:
    """A `token_count` event; `rate_limits` replaces the default block (older `resets_in_seconds` form)."""
    info: dict[str, Any] = {"model_context_window": 272000}
    if last is not None:
        info["last_token_usage"] = last
    if total is not None:
        info["total_token_usage"] = total
    if rate_limits is None:
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


def pretty(obj: Any) -> str:
    """JSON as the Node tools write whole files (`JSON.stringify(obj, null, 2)`)."""
    return json.dumps(obj, indent=2)


# Gemini CLI (packages/core/src/services/chatRecordingService.ts): JSONL, metadata first, then each message
# appended whole, again with the same id whenever it changes.


def gemini_meta(session: str, at: str, *, project_hash: str = "9f2c" * 16, kind: str | None = None) -> str:
    record: dict[str, Any] = {
        "sessionId": session,
        "projectHash": project_hash,
        "startTime": at,
        "lastUpdated": at,
    }
    if kind is not None:
        record["kind"] = kind
    return compact(record)


def gemini_user(message_id: str, at: str, text: str = "add a test for the parser") -> str:
    return compact({"id": message_id, "timestamp": at, "type": "user", "content": [{"text": text}]})


def gemini_record(
    message_id: str,
    at: str,
    *,
    model: str | None = "gemini-2.5-pro",
    prompt: int = 0,
    candidates: int = 0,
    cached: int = 0,
    thoughts: int = 0,
    tool: int = 0,
    total: int | None = None,
    with_tokens: bool = True,
) -> dict[str, Any]:
    """A `gemini` message record; `prompt` includes `cached` (promptTokenCount), and the total is Gemini's
    `totalTokenCount` (prompt + candidates + thoughts + tool) unless given."""
    record: dict[str, Any] = {
        "id": message_id,
        "timestamp": at,
        "type": "gemini",
        "content": "Done: the parser has a test now.",
        "thoughts": [{"subject": "Planning", "description": "Look at the parser first", "timestamp": at}],
        "tokens": None,
        "model": model,
    }
    if model is None:
        del record["model"]
    if with_tokens:
        record["tokens"] = {
            "input": prompt,
            "output": candidates,
            "cached": cached,
            "thoughts": thoughts,
            "tool": tool,
            "total": prompt + candidates + thoughts + tool if total is None else total,
        }
    return record


def gemini_message(message_id: str, at: str, **kwargs: Any) -> str:
    return compact(gemini_record(message_id, at, **kwargs))


def gemini_set(**fields: Any) -> str:
    return compact({"$set": fields})


def gemini_rewind(message_id: str) -> str:
    return compact({"$rewindTo": message_id})


def gemini_legacy_session(session: str, at: str, messages: list[dict[str, Any]]) -> str:
    """An older whole-file `session-*.json` recording."""
    return pretty(
        {
            "sessionId": session,
            "projectHash": "9f2c" * 16,
            "startTime": at,
            "lastUpdated": at,
            "messages": messages,
        }
    )


# Qwen Code (packages/core/src/services/chatRecordingService.ts): one ChatRecord per line.


def qwen_user(uuid: str, session: str, cwd: str, at: str, text: str = "rename the handler") -> str:
    return compact(
        {
            "uuid": uuid,
            "parentUuid": None,
            "sessionId": session,
            "timestamp": at,
            "type": "user",
            "cwd": cwd,
            "version": "0.9.1",
            "gitBranch": "main",
            "message": {"role": "user", "parts": [{"text": text}]},
        }
    )


def qwen_assistant(
    uuid: str,
    session: str,
    cwd: str,
    at: str,
    *,
    model: str = "qwen3-coder-plus",
    prompt: int,
    candidates: int,
    cached: int = 0,
    thoughts: int = 0,
    total: int | None = None,
    parent: str | None = None,
    forked_from: str | None = None,
) -> str:
    """An assistant record; `total` defaults to Qwen Code's OpenAI-compatible conversion (prompt +
    candidates, the candidates holding the thoughts)."""
    record: dict[str, Any] = {
        "uuid": uuid,
        "parentUuid": parent,
        "sessionId": session,
        "timestamp": at,
        "type": "assistant",
        "cwd": cwd,
        "version": "0.9.1",
        "gitBranch": "main",
        "message": {"role": "model", "parts": [{"text": "Renamed."}]},
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates if total is None else total,
            "cachedContentTokenCount": cached,
            "thoughtsTokenCount": thoughts,
        },
        "model": model,
        "contextWindowSize": 1000000,
    }
    if forked_from is not None:
        record["forkedFrom"] = {"sessionId": forked_from, "messageUuid": uuid}
    return compact(record)


# OpenCode (packages/opencode/src/session: message-v2.ts, processor.ts, session.sql.ts).


def opencode_assistant(
    message_id: str,
    session: str,
    *,
    created_ms: int,
    model: str = "claude-sonnet-4-5",
    provider: str = "anthropic",
    cwd: str = "/home/dev/shop",
    root: str = "/home/dev/shop",
    cost: float = 0.0,
    tokens: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An assistant message (the JSON store's file; the database keeps it without `id` and `sessionID`)."""
    return {
        "id": message_id,
        "sessionID": session,
        "role": "assistant",
        "time": {"created": created_ms, "completed": created_ms + 4000},
        "parentID": "msg_user0001",
        "modelID": model,
        "providerID": provider,
        "mode": "build",
        "agent": "build",
        "path": {"cwd": cwd, "root": root},
        "cost": cost,
        "tokens": tokens or {"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}},
        "finish": "stop",
    }


def opencode_user(message_id: str, session: str, *, created_ms: int) -> dict[str, Any]:
    return {
        "id": message_id,
        "sessionID": session,
        "role": "user",
        "time": {"created": created_ms},
        "agent": "build",
        "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"},
    }


def opencode_tokens(
    *, inp: int, out: int, reasoning: int = 0, read: int = 0, write: int = 0, total: int | None = None
) -> dict[str, Any]:
    """OpenCode's `tokens`: `input` without the cache (getUsage's adjusted input)."""
    block: dict[str, Any] = {
        "input": inp,
        "output": out,
        "reasoning": reasoning,
        "cache": {"read": read, "write": write},
    }
    if total is not None:
        block["total"] = total
    return block


def opencode_step_finish(
    part_id: str, message_id: str, session: str, *, tokens: dict[str, Any], cost: float = 0.0
) -> dict[str, Any]:
    return {
        "id": part_id,
        "sessionID": session,
        "messageID": message_id,
        "type": "step-finish",
        "reason": "tool-calls",
        "snapshot": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        "cost": cost,
        "tokens": tokens,
    }


def write_opencode_storage(
    data_dir: Path, messages: list[dict[str, Any]], parts: list[dict[str, Any]]
) -> list[Path]:
    """The JSON store: `storage/message/<session>/<message>.json`, `storage/part/<message>/<part>.json`."""
    written: list[Path] = []
    for message in messages:
        path = data_dir / "storage" / "message" / message["sessionID"] / f"{message['id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pretty(message), encoding="utf-8")
        written.append(path)
    for part in parts:
        path = data_dir / "storage" / "part" / part["messageID"] / f"{part['id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pretty(part), encoding="utf-8")
        written.append(path)
    return written


_OPENCODE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT,"
    " slug TEXT NOT NULL, directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,"
    " time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,"
    " time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL,"
    " session_id TEXT NOT NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL,"
    " data TEXT NOT NULL)",
)


def write_opencode_db(
    path: Path, messages: list[dict[str, Any]], parts: list[dict[str, Any]], *, updated_ms: int | None = None
) -> Path:
    """Upsert messages and parts into an `opencode.db` with OpenCode's tables (`data` without the row's
    ids, as OpenCode stores it); `updated_ms` is the rows' `time_updated` (default: their creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        for statement in _OPENCODE_SCHEMA:
            connection.execute(statement)
        for message in messages:
            created = message["time"]["created"]
            data = {k: v for k, v in message.items() if k not in ("id", "sessionID")}
            connection.execute(
                "INSERT OR REPLACE INTO session VALUES (?, 'prj', NULL, 'calm-otter', ?, 'fix', '1.2', ?, ?)",
                (message["sessionID"], message.get("path", {}).get("cwd", "/"), created, created),
            )
            connection.execute(
                "INSERT OR REPLACE INTO message VALUES (?, ?, ?, ?, ?)",
                (message["id"], message["sessionID"], created, updated_ms or created, compact(data)),
            )
        created_of = {message["id"]: message["time"]["created"] for message in messages}
        for index, part in enumerate(parts):
            data = {k: v for k, v in part.items() if k not in ("id", "sessionID", "messageID")}
            created = created_of.get(part["messageID"], updated_ms or 0) + 1000 * (index + 1)
            connection.execute(
                "INSERT OR REPLACE INTO part VALUES (?, ?, ?, ?, ?, ?)",
                (
                    part["id"],
                    part["messageID"],
                    part["sessionID"],
                    created,
                    updated_ms or created,
                    compact(data),
                ),
            )
        connection.commit()
    finally:
        connection.close()
    return path


# GitHub Copilot CLI: the OpenTelemetry file export (one span or log record per line).


def copilot_chat_span(
    trace_id: str,
    span_id: str,
    *,
    end: tuple[int, int],
    model: str = "claude-sonnet-4.5",
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_creation: int = 0,
    reasoning: int | None = None,
    session: str = "c0ffee00-sess",
    response_id: str = "resp_01",
) -> str:
    """A GenAI chat span; `input_tokens` includes the cache reads and writes (semantic conventions)."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "github",
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "gen_ai.response.id": response_id,
        "gen_ai.conversation.id": session,
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_creation,
    }
    if reasoning is not None:
        attributes["gen_ai.usage.reasoning.output_tokens"] = reasoning
    start = (end[0] - 3, end[1])
    return compact(
        {
            "type": "span",
            "traceId": trace_id,
            "spanId": span_id,
            "parentSpanId": "a1b2c3d4e5f60718",
            "name": f"chat {model}",
            "kind": 2,
            "startTime": list(start),
            "endTime": list(end),
            "attributes": attributes,
            "status": {"code": 0},
            "resource": {"attributes": {"service.name": "github-copilot-cli"}},
        }
    )


def copilot_log_record(trace_id: str, span_id: str, *, input_tokens: int, output_tokens: int) -> str:
    """An inference-details log record (repeats its chat span's tokens)."""
    return compact(
        {
            "type": "log",
            "timestamp": [1763632800, 0],
            "traceId": trace_id,
            "spanId": span_id,
            "body": "GenAI inference: chat",
            "attributes": {
                "event.name": "gen_ai.client.inference.operation.details",
                "gen_ai.usage.input_tokens": input_tokens,
                "gen_ai.usage.output_tokens": output_tokens,
            },
        }
    )


# Amp: one JSON document per thread, `threads/T-<id>.json`.


def amp_message(
    message_id: int,
    at: str,
    *,
    model: str = "claude-sonnet-4-5-20250929",
    inp: int,
    out: int,
    write: int = 0,
    read: int = 0,
    credits: float | None = None,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "model": model,
        "maxInputTokens": 1000000,
        "inputTokens": inp,
        "outputTokens": out,
        "cacheCreationInputTokens": write,
        "cacheReadInputTokens": read,
        "totalInputTokens": inp + write + read,
        "totalTokens": inp + write + read + out,
        "timestamp": at,
    }
    if credits is not None:
        usage["credits"] = credits
    return {
        "role": "assistant",
        "messageId": message_id,
        "content": [{"type": "text", "text": "Updated the handler."}],
        "state": {"type": "complete", "stopReason": "end_turn"},
        "usage": usage,
    }


def amp_thread(
    thread_id: str, messages: list[dict[str, Any]], *, workspace: str | None = "/home/dev/shop"
) -> str:
    thread: dict[str, Any] = {
        "v": 42,
        "id": thread_id,
        "created": 1763632800000,
        "title": "Update the handler",
        "messages": [
            {"role": "user", "messageId": 0, "content": [{"type": "text", "text": "update the handler"}]},
            *messages,
        ],
    }
    if workspace is not None:
        thread["env"] = {"initial": {"trees": [{"displayName": "shop", "uri": f"file://{workspace}"}]}}
    return pretty(thread)
