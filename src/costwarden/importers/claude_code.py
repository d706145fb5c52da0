"""Claude Code session logs: `<config dir>/projects/<project>/<session>.jsonl` (subagent sidechains in
subfolders included).

Default config dirs: every entry of `$CLAUDE_CONFIG_DIR` (comma-separated), else `~/.config/claude` and
`~/.claude`. Each assistant line carries `message.id`, `message.model`, `message.usage` (uncached input,
cache reads, cache writes split 5m/1h, output), `requestId`, `sessionId`, `cwd`, `timestamp` and, in older
versions, `costUSD`.

Claude Code writes several lines per message while it streams, all with the same `message.id` and
`requestId`; only the last carries the final output tokens. The event id is `claude-code:<message id>:
<request id>`, and a later snapshot replaces an earlier one (within a batch the last line wins; in the
ledger the snapshot with more tokens wins), so the last snapshot is what counts, also when the same
message appears in several files. Project = the last component of `cwd` (the full path is the `cwd` tag),
session = `sessionId`, agent = `claude-code`; `costUSD` becomes the provider-reported cost; `message.id`
and `requestId` are kept as the event's `provider_response_id` and `provider_request_id`. A synthetic "usage
limit reached" message is a limit hit: a quota reading of provider `anthropic` (`importers.claude_limits`).
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costwarden.core.limits import MAX_TOKENS
from costwarden.core.usage import Attribution, EventSource, Usage, UsageEvent
from costwarden.errors import ValidationError
from costwarden.importers.claude_limits import limit_hit
from costwarden.importers.common import Record, env_paths
from costwarden.importers.events import agent_attribution
from costwarden.importers.values import Malformed, amount, check_text, load_object, timestamp, tokens
from costwarden.integrations.providers import adapter_named
from costwarden.storage.quotas import QuotaSnapshot
from costwarden.warden import Warden

__all__ = ["SOURCE", "ClaudeCodeParser", "default_paths"]

SOURCE = "claude-code"
_MESSAGES = adapter_named("anthropic").wires["messages"]  # Claude Code logs Anthropic usage blocks
_SYNTHETIC = "<synthetic>"


def default_paths() -> list[Path]:
    """`projects/` of each Claude config dir that exists."""
    roots = env_paths("CLAUDE_CONFIG_DIR") or [
        Path("~/.config/claude").expanduser(),
        Path("~/.claude").expanduser(),
    ]
    return [root / "projects" for root in roots if (root / "projects").is_dir()]


# Every token count of a usage block, checked strictly before it is converted.
_TOKEN_PATHS = (
    ("input_tokens",),
    ("cache_creation_input_tokens",),
    ("cache_read_input_tokens",),
    ("output_tokens",),
    ("cache_creation", "ephemeral_5m_input_tokens"),
    ("cache_creation", "ephemeral_1h_input_tokens"),
    ("output_tokens_details", "thinking_tokens"),
    ("server_tool_use", "web_search_requests"),
)


def _check_usage(usage: dict[str, Any]) -> None:
    """Refuse a usage block with a token count that is not a whole number in range (fast path first)."""
    for path in _TOKEN_PATHS:
        if len(path) == 1:
            value = usage.get(path[0])
        else:
            parent = usage.get(path[0])
            if parent is None:
                continue
            value = parent.get(path[1]) if type(parent) is dict else parent
        if value is None or (type(value) is int and 0 <= value <= MAX_TOKENS):
            continue
        tokens(usage, *path)  # raises, naming the field (or accepts a whole float)


def _usage(usage: dict[str, Any]) -> Usage:
    try:
        return _MESSAGES.usage_block(usage)
    except ValidationError as exc:
        raise Malformed(str(exc)) from None


class ClaudeCodeParser:
    """`LineParser` for Claude Code JSONL."""

    source = SOURCE
    parallel = True  # `finish` does nothing: files may be read by several processes

    def __init__(self) -> None:
        self._hits: list[QuotaSnapshot] = []

    def new_state(self, path: Path) -> dict[str, Any]:
        return {}

    def finish(self, warden: Warden) -> None:
        if self._hits:
            warden.quotas.record_many(self._hits)
            self._hits = []

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        limit = b"limit reached" in line
        if b'"usage"' not in line and not limit:
            if not (line.lstrip().startswith(b"{") and line.rstrip().endswith(b"}")):
                raise Malformed("not a JSON object")
            return []  # user turns, tool results, summaries: no usage
        record = load_object(line)
        message = record.get("message")
        if not isinstance(message, dict):
            return []
        model = message.get("model")
        if model == _SYNTHETIC or (limit and record.get("isApiErrorMessage")):
            if limit:
                self._limit_hit(record, message)
            return []
        if not isinstance(message.get("usage"), dict):
            return []
        if not isinstance(model, str) or not model:
            raise Malformed("assistant message without a model")
        response_id = message.get("id") if isinstance(message.get("id"), str) and message.get("id") else None
        message_id = response_id or record.get("uuid")
        if not isinstance(message_id, str) or not message_id:
            raise Malformed("assistant message without an id")
        request_id = record.get("requestId") if isinstance(record.get("requestId"), str) else None
        if request_id:
            check_text(request_id, "requestId")
            event_id = f"{SOURCE}:{message_id}:{request_id}"
        else:
            event_id = f"{SOURCE}:{message_id}"
        check_text(event_id, "message.id")
        check_text(model, "message.model")
        for key in ("cwd", "sessionId", "gitBranch"):
            if isinstance(record.get(key), str):
                check_text(record[key], key)
        occurred_at = timestamp(record.get("timestamp"))
        usage = message["usage"]
        _check_usage(usage)
        cost = amount(record.get("costUSD"), "costUSD")
        tier = _tier(usage)
        ids = (response_id, request_id or None)
        return [(event_id, lambda: _event(event_id, occurred_at, model, usage, tier, cost, record, ids))]

    def _limit_hit(self, record: dict[str, Any], message: dict[str, Any]) -> None:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"text": content}]
        texts = [str(p["text"]) for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
        for text in texts:
            if "limit reached" in text.lower():
                hit = limit_hit(text, timestamp(record.get("timestamp")))
                if hit is not None:
                    self._hits.append(hit)
                return


def _event(
    event_id: str,
    occurred_at: datetime,
    model: str,
    usage: dict[str, Any],
    tier: str | None,
    cost: Decimal | None,
    record: dict[str, Any],
    ids: tuple[str | None, str | None],
) -> UsageEvent:
    """`ids`: the API's message id (`msg_...`) and request id (`req_...`) the provider reported."""
    cwd = record.get("cwd") if isinstance(record.get("cwd"), str) else None
    branch = record.get("gitBranch")
    session = record.get("sessionId")
    try:
        attribution = _attribution(
            cwd or None,
            branch if isinstance(branch, str) and branch else None,
            record.get("isSidechain") is True,
            session if isinstance(session, str) else None,
        )
        return UsageEvent(
            id=event_id,
            occurred_at=occurred_at,
            provider="anthropic",
            model=model,
            usage=_usage(usage),
            attribution=attribution,
            source=EventSource.IMPORT,
            service_tier=tier,
            provider_cost=cost,
            provider_response_id=ids[0],
            provider_request_id=ids[1],
        )
    except ValidationError as exc:
        raise Malformed(str(exc)) from None


@functools.lru_cache(maxsize=1024)
def _attribution(cwd: str | None, branch: str | None, sidechain: bool, session: str | None) -> Attribution:
    """The attribution of a session's lines (one object for all of them: it is immutable)."""
    tags: dict[str, str] = {}
    if cwd:
        tags["cwd"] = cwd
    if branch:
        tags["git_branch"] = branch
    if sidechain:
        tags["sidechain"] = "true"
    return agent_attribution("claude-code", place=cwd, session=session, tags=tags)


def _tier(usage: dict[str, Any]) -> str | None:
    tier = usage.get("service_tier")
    return tier if isinstance(tier, str) and tier not in ("standard", "") else None
