"""GitHub Copilot CLI: its OpenTelemetry file export, `~/.copilot/otel/*.jsonl` and the file named by
`$COPILOT_OTEL_FILE_EXPORTER_PATH`.

Copilot CLI is not open source, and its own session logs (`~/.copilot/session-state/`) do not keep token
counts: its `assistant.usage` events are ephemeral (never written to disk). The only local record of tokens
is the OpenTelemetry export, written when Copilot CLI runs with `COPILOT_OTEL_ENABLED=true`,
`COPILOT_OTEL_EXPORTER_TYPE=file` and `COPILOT_OTEL_FILE_EXPORTER_PATH=<file>.jsonl`: one JSON object per
line, spans and log records. This importer reads the GenAI *chat* spans (`attributes["gen_ai.operation.name"]
== "chat"`, or a span named `chat <model>`), one per model call, following the OpenTelemetry GenAI semantic
conventions: `gen_ai.usage.input_tokens` (which includes `gen_ai.usage.cache_read.input_tokens` and
`gen_ai.usage.cache_creation.input_tokens`), `gen_ai.usage.output_tokens`,
`gen_ai.usage.reasoning.output_tokens` (part of the output unless `gen_ai.usage.total_tokens` says
otherwise), `gen_ai.response.model` / `gen_ai.request.model`, `gen_ai.response.id`, and the session from
`gen_ai.conversation.id` (or `session.id`, `copilot_chat.session_id`). Log records and agent summary spans
repeat the chat spans' tokens and are not read. The exact attribute set Copilot CLI writes is taken from the
semantic conventions, not from its (closed) source: an attribute it names differently is not read.

Event id `copilot-cli:<traceId>:<spanId>`. Provider from the model name (`claude-*` -> anthropic, `gpt-*`
-> openai, ...; else `github-copilot`, which has no prices: Copilot bills premium requests, not tokens),
agent `copilot-cli`; the span time is its `endTime` (`[seconds, nanoseconds]`, else `startTime`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from costwarden.core.limits import MAX_DATE, MIN_DATE
from costwarden.core.usage import Usage
from costwarden.errors import ValidationError
from costwarden.importers.common import NothingToFinish, Record
from costwarden.importers.events import agent_attribution, imported_event
from costwarden.importers.token_split import output_and_reasoning, provider_of_model
from costwarden.importers.values import Malformed, check_instant, check_text, load_object, timestamp, tokens

__all__ = ["SOURCE", "CopilotCliParser", "default_paths"]

SOURCE = "copilot-cli"
_SESSION_KEYS = (
    "gen_ai.conversation.id",
    "session.id",
    "copilot_chat.session_id",
    "copilot_chat.chat_session_id",
)
_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")


def default_paths() -> list[Path]:
    """`~/.copilot/otel/` when it exists, and the file `$COPILOT_OTEL_FILE_EXPORTER_PATH` names."""
    found: list[Path] = []
    otel = Path.home() / ".copilot" / "otel"
    if otel.is_dir():
        found.append(otel)
    exporter = os.environ.get("COPILOT_OTEL_FILE_EXPORTER_PATH", "").strip()
    if exporter and Path(exporter).expanduser().is_file():
        found.append(Path(exporter).expanduser())
    return found


def _text(attributes: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value.strip():
            return check_text(value.strip(), f"attributes.{key}")
    return None


def _span_time(record: dict[str, Any]) -> datetime:
    for key in ("endTime", "startTime"):
        value = record.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            return timestamp(value, assume_utc=True, field=key)
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(type(part) is int and part >= 0 for part in value)
        ):
            seconds = value[0] + value[1] / 1e9
            if not MIN_DATE.timestamp() <= seconds < MAX_DATE.timestamp():
                raise Malformed(f"{key}: {value!r} is not a time between {MIN_DATE.year} and {MAX_DATE.year}")
            return check_instant(datetime.fromtimestamp(seconds, UTC), key)
        raise Malformed(f"{key}: expected [seconds, nanoseconds], got {value!r}")
    raise Malformed("span without endTime or startTime")


def _is_chat_span(record: dict[str, Any], attributes: dict[str, Any]) -> bool:
    if record.get("type") not in (None, "span"):
        return False
    if not (isinstance(record.get("spanId"), str) or isinstance(record.get("spanContext"), dict)):
        return False
    name = record.get("name")
    return attributes.get("gen_ai.operation.name") == "chat" or (
        isinstance(name, str) and name.startswith("chat ")
    )


def _ids(record: dict[str, Any]) -> tuple[str, str]:
    found = record.get("spanContext")
    context: dict[str, Any] = found if isinstance(found, dict) else {}
    trace = record.get("traceId") or context.get("traceId")
    span = record.get("spanId") or context.get("spanId")
    if not (isinstance(trace, str) and trace and isinstance(span, str) and span):
        raise Malformed("chat span without traceId and spanId")
    return check_text(trace, "traceId"), check_text(span, "spanId")


class CopilotCliParser(NothingToFinish):
    """`LineParser` for Copilot CLI's OpenTelemetry JSONL export."""

    source = SOURCE

    def new_state(self, path: Path) -> dict[str, Any]:
        return {}

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        if b"gen_ai.usage" not in line:
            if not (line.lstrip().startswith(b"{") and line.rstrip().endswith(b"}")):
                raise Malformed("not a JSON object")
            return []
        record = load_object(line)
        attributes = record.get("attributes")
        if not isinstance(attributes, dict) or not _is_chat_span(record, attributes):
            return []
        read = tokens(attributes, "gen_ai.usage.cache_read.input_tokens")
        write = tokens(attributes, "gen_ai.usage.cache_creation.input_tokens") or tokens(
            attributes, "gen_ai.usage.cache_write.input_tokens"
        )
        all_input = tokens(attributes, "gen_ai.usage.input_tokens")
        output = tokens(attributes, "gen_ai.usage.output_tokens")
        reasoning = tokens(attributes, "gen_ai.usage.reasoning.output_tokens")
        total_value = attributes.get("gen_ai.usage.total_tokens")
        total = tokens(attributes, "gen_ai.usage.total_tokens") if total_value is not None else None
        if not (all_input or output or read or write or reasoning):
            return []
        all_input = max(all_input, read + write)
        output, reasoning = output_and_reasoning(
            output, reasoning, total if total is not None else all_input + output, all_input
        )
        model = _text(attributes, *_MODEL_KEYS)
        if model is None:
            raise Malformed("chat span without gen_ai.response.model or gen_ai.request.model")
        trace, span = _ids(record)
        at = _span_time(record)
        event_id = f"{SOURCE}:{trace}:{span}"
        tags = {"trace_id": trace}
        given = _text(attributes, "gen_ai.provider.name", "gen_ai.system")
        if given:
            tags["copilot_provider"] = given
        try:
            usage = Usage(
                input_tokens=all_input - read - write,
                cache_read_tokens=read,
                cache_write_tokens=write,
                output_tokens=output,
                reasoning_tokens=reasoning,
            )
        except ValidationError as exc:
            raise Malformed(str(exc)) from None
        event = imported_event(
            id=event_id,
            occurred_at=at,
            provider=provider_of_model(model, "github-copilot"),
            model=model,
            usage=usage,
            attribution=agent_attribution(SOURCE, session=_text(attributes, *_SESSION_KEYS), tags=tags),
            provider_response_id=_text(attributes, "gen_ai.response.id"),
        )
        return [(event_id, lambda: event)]
