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
session = `sessionId`, agent = `claude-code`; `costUSD` becomes the provider-reported cost.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePath
from typing import Any

from costwarden.core.usage import Attribution, EventSource, UsageEvent
from costwarden.errors import ValidationError
from costwarden.importers.common import Malformed, Record, env_paths
from costwarden.integrations.usage import anthropic_usage
from costwarden.warden import Warden

__all__ = ["SOURCE", "ClaudeCodeParser", "default_paths"]

SOURCE = "claude-code"
_SYNTHETIC = "<synthetic>"


def default_paths() -> list[Path]:
    """`projects/` of each Claude config dir that exists."""
    roots = env_paths("CLAUDE_CONFIG_DIR") or [
        Path("~/.config/claude").expanduser(),
        Path("~/.claude").expanduser(),
    ]
    return [root / "projects" for root in roots if (root / "projects").is_dir()]


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise Malformed("missing timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Malformed(f"bad timestamp {value!r}") from None
    if parsed.tzinfo is None:
        raise Malformed(f"timestamp without a zone {value!r}")
    return parsed


def _cost(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


class ClaudeCodeParser:
    """`LineParser` for Claude Code JSONL."""

    source = SOURCE

    def new_state(self, path: Path) -> dict[str, Any]:
        return {}

    def finish(self, warden: Warden) -> None:
        pass

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        if b'"usage"' not in line:
            if not (line.lstrip().startswith(b"{") and line.rstrip().endswith(b"}")):
                raise Malformed("not a JSON object")
            return []  # user turns, tool results, summaries: no usage
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Malformed(f"invalid JSON ({exc.msg})") from None
        except ValueError:
            raise Malformed("invalid JSON") from None
        if not isinstance(record, dict):
            raise Malformed("not a JSON object")
        message = record.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            return []
        model = message.get("model")
        if model == _SYNTHETIC:
            return []
        if not isinstance(model, str) or not model:
            raise Malformed("assistant message without a model")
        message_id = message.get("id") or record.get("uuid")
        if not isinstance(message_id, str) or not message_id:
            raise Malformed("assistant message without an id")
        request_id = record.get("requestId")
        if isinstance(request_id, str) and request_id:
            event_id = f"{SOURCE}:{message_id}:{request_id}"[:255]
        else:
            event_id = f"{SOURCE}:{message_id}"[:255]
        occurred_at = _timestamp(record.get("timestamp"))
        return [(event_id, lambda: _event(event_id, occurred_at, model, message["usage"], record))]


def _event(
    event_id: str, occurred_at: datetime, model: str, usage: dict[str, Any], record: dict[str, Any]
) -> UsageEvent:
    cwd = record.get("cwd") if isinstance(record.get("cwd"), str) else None
    tags: dict[str, str] = {}
    if cwd:
        tags["cwd"] = cwd
    branch = record.get("gitBranch")
    if isinstance(branch, str) and branch:
        tags["git_branch"] = branch
    if record.get("isSidechain") is True:
        tags["sidechain"] = "true"
    session = record.get("sessionId")
    try:
        return UsageEvent(
            id=event_id,
            occurred_at=occurred_at,
            provider="anthropic",
            model=model,
            usage=anthropic_usage(usage),
            attribution=Attribution(
                project=_project(cwd) if cwd else None,
                agent="claude-code",
                session=session if isinstance(session, str) else None,
                tags=tags,
            ),
            source=EventSource.IMPORT,
            service_tier=_tier(usage),
            provider_cost=_cost(record.get("costUSD")),
        )
    except ValidationError as exc:
        raise Malformed(str(exc)) from None


@functools.lru_cache(maxsize=1024)
def _project(cwd: str) -> str:
    return PurePath(cwd).name or cwd


def _tier(usage: dict[str, Any]) -> str | None:
    tier = usage.get("service_tier")
    return tier if isinstance(tier, str) and tier not in ("standard", "") else None
