"""Gemini CLI chat recordings: `<gemini dir>/tmp/<project>/chats/session-*.jsonl` (subagent sessions in a
folder named after their parent session), and the older whole-file `session-*.json`.

Default gemini dir: `$GEMINI_CLI_HOME/.gemini` when set (Gemini CLI's own variable for its home), else
`~/.gemini`. Read from Gemini CLI's `ChatRecordingService` (packages/core/src/services/chatRecordingService.ts
and chatRecordingTypes.ts): the JSONL file is append-only. Its first line is the session's metadata
(`sessionId`, `projectHash`, `startTime`, `kind`); each message is appended whole as a line (`id`,
`timestamp`, `type`, and for `type == "gemini"` its `model` and `tokens`: `input` = promptTokenCount,
`output` = candidatesTokenCount, `cached` = cachedContentTokenCount, `thoughts`, `tool` =
toolUsePromptTokenCount, `total`), and appended again with the same `id` whenever it changes (its tokens
arrive, tool calls are added); `{"$set": {...}}` lines update the metadata (a `messages` list there is a
checkpoint that lists the messages again) and `{"$rewindTo": id}` drops messages from the visible history
(they were still billed, so they still count). A resumed legacy `.json` session is copied into a new
`.jsonl` file with the same session and message ids.

Gemini semantics: `input` includes `cached`; `tool` is input beside it; `thoughts` are billed as output.
Event id `gemini-cli:<session id>:<message id>`: the last snapshot of a message wins, also across the
`.json` and `.jsonl` copies of a session. Provider `google`, agent `gemini-cli`, session = `sessionId`;
project = the last component of the project root Gemini CLI wrote to `<project>/.project_root` (full path
in the `cwd` tag), else none (the `project_hash` tag keeps the hash). A message with tokens but no model of
its own takes the session's last model; one with neither is malformed.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from costwarden.core.usage import Usage, UsageEvent
from costwarden.importers.common import NothingToFinish, Record
from costwarden.importers.documents import Document, WholeFile, built
from costwarden.importers.events import agent_attribution, imported_event
from costwarden.importers.token_split import gemini_slices
from costwarden.importers.values import Malformed, check_text, load_object, timestamp, tokens

__all__ = [
    "SOURCE",
    "GeminiCliParser",
    "GeminiCliSessionParser",
    "default_paths",
    "chat_files",
    "message_event",
]

SOURCE = "gemini-cli"
_PROJECT_ROOT_FILE = ".project_root"


def gemini_dir() -> Path:
    home = os.environ.get("GEMINI_CLI_HOME")
    return (Path(home) if home else Path.home()) / ".gemini"


def default_paths() -> list[Path]:
    """`tmp/` of the Gemini dir, when it exists."""
    tmp = gemini_dir() / "tmp"
    return [tmp] if tmp.is_dir() else []


def _in_chats(path: Path) -> bool:
    return "chats" in path.parts[:-1]


def chat_files(roots: list[Path]) -> tuple[list[Path], list[Path]]:
    """`(jsonl files, legacy json session files)` under `roots` (files given by name are taken as they
    are; in folders, only files inside a `chats` folder: the project folders hold other JSON too)."""
    lines: dict[str, Path] = {}
    documents: dict[str, Path] = {}
    for root in roots:
        if root.is_file():
            found = [root]
        elif root.is_dir():
            found = [p for p in root.rglob("*.json*") if p.is_file() and _in_chats(p.resolve())]
        else:
            continue
        for path in found:
            if path.suffix == ".jsonl":
                lines.setdefault(str(path.resolve()), path)
            elif path.suffix == ".json":
                documents.setdefault(str(path.resolve()), path)
    return [lines[k] for k in sorted(lines)], [documents[k] for k in sorted(documents)]


def _project_root(path: Path) -> str | None:
    """The project path Gemini CLI wrote beside the chats folder of `path`, if any."""
    parent = path.parent
    while parent != parent.parent:
        if parent.name == "chats":
            marker = parent.parent / _PROJECT_ROOT_FILE
            try:
                text = marker.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            return text or None
        parent = parent.parent
    return None


def _new_state(path: Path) -> dict[str, Any]:
    stem = path.stem
    return {
        "session": stem,
        "project_hash": None,
        "root": _project_root(path),
        "model": None,
    }


def _metadata(record: dict[str, Any], state: dict[str, Any]) -> None:
    session = record.get("sessionId")
    if isinstance(session, str) and session:
        state["session"] = check_text(session, "sessionId")
    project_hash = record.get("projectHash")
    if isinstance(project_hash, str) and project_hash:
        state["project_hash"] = check_text(project_hash, "projectHash")


def message_event(message: dict[str, Any], state: dict[str, Any], where: str) -> UsageEvent | None:
    """The event of one `gemini` message with tokens (None: no usage); updates the session's model."""
    if message.get("type") != "gemini":
        return None
    model = message.get("model")
    if isinstance(model, str) and model:
        state["model"] = check_text(model, f"{where}.model")
    block = message.get("tokens")
    if block is None:
        return None
    if not isinstance(block, dict):
        raise Malformed(f"{where}.tokens: expected an object, got {type(block).__name__}")
    counts = {name: tokens(block, name) for name in ("input", "output", "cached", "thoughts", "tool")}
    total = tokens(block, "total") if block.get("total") is not None else None
    if not any(counts.values()):
        return None
    model = state.get("model")
    if not model:
        raise Malformed(f"{where}: a message with tokens names no model")
    message_id = message.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise Malformed(f"{where}: a message without an id")
    at = timestamp(message.get("timestamp"), field=f"{where}.timestamp")
    uncached, cache_read, output, reasoning = gemini_slices(
        prompt=counts["input"],
        candidates=counts["output"],
        cached=counts["cached"],
        thoughts=counts["thoughts"],
        tool=counts["tool"],
        total=total,
    )
    session = state.get("session")
    root = state.get("root")
    tags: dict[str, str] = {}
    if root:
        tags["cwd"] = root
    if state.get("project_hash"):
        tags["project_hash"] = state["project_hash"]
    event_id = check_text(f"{SOURCE}:{session}:{message_id}", f"{where}.id")
    usage = Usage(
        input_tokens=uncached, cache_read_tokens=cache_read, output_tokens=output, reasoning_tokens=reasoning
    )
    return _event(event_id, at, model, usage, session, root, tags)


def _event(
    event_id: str,
    at: datetime,
    model: str,
    usage: Usage,
    session: str | None,
    root: str | None,
    tags: dict[str, str],
) -> UsageEvent:
    return imported_event(
        id=event_id,
        occurred_at=at,
        provider="google",
        model=model,
        usage=usage,
        attribution=agent_attribution(SOURCE, place=root, session=session, tags=tags),
    )


def _records(messages: object, state: dict[str, Any], where: str) -> list[Record]:
    if not isinstance(messages, list):
        raise Malformed(f"{where}: expected a list of messages")
    out: list[Record] = []
    for index, message in enumerate(messages):
        if isinstance(message, dict):
            event = message_event(message, state, f"{where}[{index}]")
            if event is not None:
                out.append((event.id, built(event)))
    return out


class GeminiCliParser(NothingToFinish):
    """`LineParser` for Gemini CLI's JSONL chat recordings."""

    source = SOURCE

    def new_state(self, path: Path) -> dict[str, Any]:
        return _new_state(path)

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        record = load_object(line)
        if "$rewindTo" in record:
            return []
        update = record.get("$set")
        if isinstance(update, dict):
            _metadata(update, state)
            if "messages" in update:
                return _records(update["messages"], state, "$set.messages")
            return []
        if isinstance(record.get("id"), str):
            event = message_event(record, state, "message")
            return [] if event is None else [(event.id, lambda: event)]
        if isinstance(record.get("sessionId"), str):
            _metadata(record, state)
            if "messages" in record:
                return _records(record["messages"], state, "messages")
            return []
        raise Malformed("neither a message nor session metadata")


class GeminiCliSessionParser(WholeFile):
    """`DocumentParser` for the older whole-file `session-*.json` recordings."""

    source = SOURCE

    def read(self, path: Path, state: dict[str, Any]) -> Document:
        record = load_object(path.read_bytes())
        if not isinstance(record.get("sessionId"), str):
            raise Malformed("not a Gemini CLI session (no sessionId)")
        session_state = _new_state(path)
        _metadata(record, session_state)
        messages = record.get("messages")
        if not isinstance(messages, list):
            raise Malformed("messages: expected a list")
        document = Document(items=len(messages))
        for index, message in enumerate(messages):
            where = f"messages[{index}]"
            if not isinstance(message, dict):
                document.problem(where, "not an object")
                continue
            try:
                event = message_event(message, session_state, where)
            except (Malformed, ValueError) as exc:
                document.problem(where, exc)
                continue
            if event is not None:
                document.add(where, event.id, built(event))
        return document
