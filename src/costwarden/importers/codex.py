"""Codex CLI session logs: `$CODEX_HOME/sessions/**/*.jsonl` (default `~/.codex`).

`session_meta` gives the session id and `cwd`; `turn_context` lines carry the model in use; `event_msg`
lines with `payload.type == "token_count"` carry `info.last_token_usage` (this turn) and/or
`info.total_token_usage` (the session's running total). The turn's usage is `last_token_usage` when
present, else the difference of running totals; a repeated total (Codex re-sends it, e.g. with new
rate-limit figures) is skipped. OpenAI semantics: `input_tokens` include `cached_input_tokens`, and
`output_tokens` include `reasoning_output_tokens`. The event id is `codex:<session>:<byte offset of the
line>`, stable across re-imports. The newest `rate_limits` seen (the subscription's 5-hour and weekly
windows) become the latest quota of provider `codex`.

A session logged before any `turn_context` names no model: such turns are recorded as `gpt-5` with the
tag `model=assumed`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

from costwarden.core.usage import Attribution, EventSource, Usage, UsageEvent
from costwarden.errors import ValidationError
from costwarden.importers.common import Malformed, Record
from costwarden.integrations.usage import count
from costwarden.quotas import QuotaSnapshot, QuotaWindow
from costwarden.warden import Warden

__all__ = ["SOURCE", "ASSUMED_MODEL", "CodexParser", "default_paths", "codex_usage"]

SOURCE = "codex"
ASSUMED_MODEL = "gpt-5"
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")


def default_paths() -> list[Path]:
    import os

    home = Path(os.environ.get("CODEX_HOME") or "~/.codex").expanduser()
    sessions = home / "sessions"
    return [sessions] if sessions.is_dir() else []


def codex_usage(block: dict[str, int]) -> Usage:
    """A Codex token usage block -> non-overlapping slices."""
    cached = block.get("cached_input_tokens", 0)
    output = block.get("output_tokens", 0)
    return Usage(
        input_tokens=max(0, block.get("input_tokens", 0) - cached),
        cache_read_tokens=cached,
        output_tokens=output,
        reasoning_tokens=min(block.get("reasoning_output_tokens", 0), output),
    )


def _block(value: object) -> dict[str, int] | None:
    if not isinstance(value, dict):
        return None
    return {name: count(value, name) for name in _FIELDS}


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise Malformed("missing timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Malformed(f"bad timestamp {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class CodexParser:
    """`LineParser` for Codex rollout JSONL."""

    source = SOURCE

    def __init__(self) -> None:
        self._quota: QuotaSnapshot | None = None

    def new_state(self, path: Path) -> dict[str, Any]:
        return {"session": path.stem.removeprefix("rollout-"), "model": None, "cwd": None, "total": None}

    def finish(self, warden: Warden) -> None:
        if self._quota is not None:
            warden.quotas.record(self._quota)
            warden.quotas.flush()
            self._quota = None

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Malformed(f"invalid JSON ({exc.msg})") from None
        except ValueError:
            raise Malformed("invalid JSON") from None
        if not isinstance(record, dict):
            raise Malformed("not a JSON object")
        kind, payload = record.get("type"), record.get("payload")
        if not isinstance(payload, dict):
            return []
        if kind == "session_meta":
            if isinstance(payload.get("id"), str):
                state["session"] = payload["id"]
            if isinstance(payload.get("cwd"), str):
                state["cwd"] = payload["cwd"]
            return []
        if kind == "turn_context":
            if isinstance(payload.get("model"), str) and payload["model"]:
                state["model"] = payload["model"]
            if isinstance(payload.get("cwd"), str):
                state["cwd"] = payload["cwd"]
            return []
        if kind != "event_msg" or payload.get("type") != "token_count":
            return []
        at = _timestamp(record.get("timestamp"))
        self._rate_limits(payload.get("rate_limits"), at)
        info = payload.get("info")
        if not isinstance(info, dict):
            return []
        last, total = _block(info.get("last_token_usage")), _block(info.get("total_token_usage"))
        previous = state.get("total")
        if total is not None:
            if total == previous:
                return []  # the same running total sent again
            state["total"] = total
        if last is not None:
            turn = last
        elif total is not None:
            turn = {k: total[k] - (previous or {}).get(k, 0) for k in _FIELDS}
            if any(v < 0 for v in turn.values()):  # the totals restarted
                turn = total
        else:
            raise Malformed("token_count without usage")
        if not any(turn.values()):
            return []
        event = self._event(state, at, offset, turn)
        return [(event.id, lambda: event)]

    def _event(self, state: dict[str, Any], at: datetime, offset: int, turn: dict[str, int]) -> UsageEvent:
        model = state.get("model") or ASSUMED_MODEL
        cwd = state.get("cwd")
        tags = {"cwd": cwd} if cwd else {}
        if not state.get("model"):
            tags["model"] = "assumed"
        try:
            return UsageEvent(
                id=f"{SOURCE}:{state['session']}:{offset}"[:255],
                occurred_at=at,
                provider="openai",
                model=model,
                usage=codex_usage(turn),
                attribution=Attribution(
                    project=PurePath(cwd).name or cwd if cwd else None,
                    agent="codex",
                    session=state.get("session"),
                    tags=tags,
                ),
                source=EventSource.IMPORT,
            )
        except ValidationError as exc:
            raise Malformed(str(exc)) from None

    def _rate_limits(self, limits: object, at: datetime) -> None:
        if not isinstance(limits, dict):
            return
        windows: dict[str, QuotaWindow] = {}
        for name in ("primary", "secondary"):
            window = limits.get(name)
            if not isinstance(window, dict):
                continue
            used = window.get("used_percent")
            reset_at: datetime | None = None
            if isinstance(window.get("resets_at"), int | float):
                reset_at = datetime.fromtimestamp(window["resets_at"], UTC)
            elif isinstance(window.get("resets_in_seconds"), int | float):
                reset_at = at + timedelta(seconds=window["resets_in_seconds"])
            minutes = window.get("window_minutes")
            label = f"{name}-{minutes}m" if isinstance(minutes, int) else name
            windows[label] = QuotaWindow(
                name=label,
                utilization=float(used) / 100 if isinstance(used, int | float) else None,
                reset_at=reset_at,
            )
        if windows and (self._quota is None or self._quota.observed_at <= at):
            raw = json.dumps(limits, separators=(",", ":"))[:2000]
            self._quota = QuotaSnapshot(
                provider="codex", observed_at=at, windows=windows, headers={"rate_limits": raw}
            )
