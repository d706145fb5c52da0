"""Codex CLI session logs: `$CODEX_HOME/sessions/**/*.jsonl` (default `~/.codex`).

`session_meta` gives the session id and `cwd`; `turn_context` lines carry the model in use; `event_msg`
lines with `payload.type == "token_count"` carry `info.last_token_usage` (this turn) and/or
`info.total_token_usage` (the session's running total). The turn's usage is `last_token_usage` when
present, else the difference of running totals; a repeated total (Codex re-sends it, e.g. with new
rate-limit figures) is skipped. OpenAI semantics: `input_tokens` include `cached_input_tokens`, and
`output_tokens` include `reasoning_output_tokens`.

The event id is the turn's identity within its conversation, `codex:<digest>` of the line's time and the
conversation's running total after the turn (the turn's own usage when no running total is logged): not a
byte offset or a file name, so a file whose first bytes were rewritten is read again without counting a
turn twice, and a forked session, which replays its parent's `token_count` lines with their original
times and totals, adds only its own turns. Every `rate_limits` block (the subscription's 5-hour and weekly
windows: `used_percent`, `window_minutes`, `resets_at` epoch or the older `resets_in_seconds`, `plan_type`)
becomes a quota reading of provider `codex` (windows `primary-<minutes>m`, `secondary-<minutes>m`, the plan
type as their status).

A session logged before any `turn_context` names no model: such turns are recorded as `gpt-5` with the
tag `model=assumed`.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from costwarden.core.limits import MAX_DATE, MIN_DATE
from costwarden.core.usage import Usage, UsageEvent
from costwarden.importers.common import Record
from costwarden.importers.events import agent_attribution, imported_event
from costwarden.importers.values import Malformed, check_text, load_object, timestamp, tokens
from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow
from costwarden.warden import Warden

__all__ = ["SOURCE", "ASSUMED_MODEL", "CodexParser", "default_paths", "codex_usage"]

SOURCE = "codex"
ASSUMED_MODEL = "gpt-5"
_MAX_WINDOW_MINUTES = 366 * 24 * 60
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


def _block(value: object, name: str) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"info.{name}: expected an object, got {type(value).__name__}")
    return {field: tokens(value, field) for field in _FIELDS}


def _turn_id(at: datetime, total: dict[str, int] | None, last: dict[str, int] | None) -> str:
    """`codex:<digest>` of a turn's time (UTC, to the microsecond) and the running total after it (else its
    own usage): the same turn has the same id in every file that logs it."""
    kind, block = ("total", total) if total is not None else ("last", last)
    assert block is not None
    key = f"{at.isoformat()}|{kind}|" + ",".join(str(block[name]) for name in _FIELDS)
    return f"{SOURCE}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return check_text(value, f"payload.{key}") if isinstance(value, str) else None


def _number(window: dict[str, Any], key: str, where: str) -> float | None:
    value = window.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Malformed(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)


def _reset_at(window: dict[str, Any], at: datetime, where: str) -> datetime | None:
    epoch = _number(window, "resets_at", where)
    seconds = _number(window, "resets_in_seconds", where) if epoch is None else None
    if epoch is not None:
        if not MIN_DATE.timestamp() <= epoch < MAX_DATE.timestamp():
            raise Malformed(
                f"{where}.resets_at: {epoch!r} is not a time between {MIN_DATE.year} and {MAX_DATE.year}"
            )
        return datetime.fromtimestamp(epoch, MIN_DATE.tzinfo)
    if seconds is not None:
        if not 0 <= seconds <= (MAX_DATE - MIN_DATE).total_seconds():
            raise Malformed(f"{where}.resets_in_seconds: {seconds!r} is out of range")
        reset = at + timedelta(seconds=seconds)
        if reset >= MAX_DATE:
            raise Malformed(f"{where}.resets_in_seconds: {seconds!r} is out of range")
        return reset
    return None


class CodexParser:
    """`LineParser` for Codex rollout JSONL."""

    source = SOURCE

    def __init__(self) -> None:
        self._quotas: list[QuotaSnapshot] = []

    def new_state(self, path: Path) -> dict[str, Any]:
        return {"session": path.stem.removeprefix("rollout-"), "model": None, "cwd": None, "total": None}

    def finish(self, warden: Warden) -> None:
        if self._quotas:
            warden.quotas.record_many(self._quotas)
            self._quotas = []

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        record = load_object(line)
        kind, payload = record.get("type"), record.get("payload")
        if not isinstance(payload, dict):
            return []
        if kind == "session_meta":
            session, cwd = _text(payload, "id"), _text(payload, "cwd")
            if session:
                state["session"] = session
            if cwd is not None:
                state["cwd"] = cwd
            return []
        if kind == "turn_context":
            model, cwd = _text(payload, "model"), _text(payload, "cwd")
            if model:
                state["model"] = model
            if cwd is not None:
                state["cwd"] = cwd
            return []
        if kind != "event_msg" or payload.get("type") != "token_count":
            return []
        at = timestamp(record.get("timestamp"), assume_utc=True)
        info = payload.get("info")
        if not isinstance(info, dict):
            self._rate_limits(payload.get("rate_limits"), at)
            return []
        last = _block(info.get("last_token_usage"), "last_token_usage")
        total = _block(info.get("total_token_usage"), "total_token_usage")
        self._rate_limits(payload.get("rate_limits"), at)
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
        event = self._event(state, at, _turn_id(at, total, last), turn)
        return [(event.id, lambda: event)]

    def _event(self, state: dict[str, Any], at: datetime, event_id: str, turn: dict[str, int]) -> UsageEvent:
        model = state.get("model") or ASSUMED_MODEL
        cwd = state.get("cwd")
        tags = {"cwd": cwd} if cwd else {}
        if not state.get("model"):
            tags["model"] = "assumed"
        return imported_event(
            id=event_id,
            occurred_at=at,
            provider="openai",
            model=model,
            usage=codex_usage(turn),
            attribution=agent_attribution("codex", place=cwd, session=state.get("session"), tags=tags),
        )

    def _rate_limits(self, limits: object, at: datetime) -> None:
        if not isinstance(limits, dict):
            return
        windows: dict[str, QuotaWindow] = {}
        plan_type = limits.get("plan_type")
        if plan_type is not None and not isinstance(plan_type, str):
            raise Malformed(f"rate_limits.plan_type: expected a string, got {plan_type!r}")
        plan = check_text(plan_type, "rate_limits.plan_type")[:64] if plan_type else None
        for name in ("primary", "secondary"):
            window = limits.get(name)
            if not isinstance(window, dict):
                continue
            where = f"rate_limits.{name}"
            used = _number(window, "used_percent", where)
            if used is not None and not 0 <= used <= 1e6:
                raise Malformed(f"{where}.used_percent: {used!r} is out of range")
            reset_at = _reset_at(window, at, where)
            minutes = window.get("window_minutes")
            if minutes is not None and (type(minutes) is not int or not 0 < minutes <= _MAX_WINDOW_MINUTES):
                raise Malformed(f"{where}.window_minutes: expected minutes up to a year, got {minutes!r}")
            label = name if minutes is None else f"{name}-{minutes}m"
            windows[label] = QuotaWindow(
                name=label,
                utilization=None if used is None else used / 100,
                reset_at=reset_at,
                status=plan,
            )
        if windows:
            raw = json.dumps(limits, separators=(",", ":"))[:2000]
            self._quotas.append(
                QuotaSnapshot(
                    provider="codex",
                    observed_at=at,
                    windows=windows,
                    headers={"rate_limits": raw},
                    source="codex",
                )
            )
