"""OpenCode sessions: the SQLite database `<data dir>/opencode.db` (and `opencode-<channel>.db`), and the
older JSON store `<data dir>/storage/message/<session>/<message>.json` with
`storage/part/<message>/<part>.json`.

Default data dir: `$XDG_DATA_HOME/opencode`, else `~/.local/share/opencode` (OpenCode's `Global.Path.data`).
Read from OpenCode's source (packages/opencode/src/session: `session.sql.ts`, `message-v2.ts`,
`processor.ts`, `index.ts` `getUsage`): the database has tables `session` (`id`, `directory`, ...),
`message` (`id`, `session_id`, `time_created`, `time_updated`, `data`: the message as JSON without its id)
and `part` (`id`, `message_id`, `session_id`, `time_created`, `time_updated`, `data`). An assistant
message's `data` has `role`, `modelID`, `providerID`, `path` (`cwd`, `root`), `time` (`created`,
`completed`, ms), `cost` (USD) and `tokens` (`input` without the cache, `output`, `reasoning`, `cache`
(`read`, `write`), `total`).

One API call is one *step*: at the end of each step OpenCode writes a `step-finish` part with that step's
`tokens` and `cost`, adds the cost to the message's and sets the message's `tokens` to the step's. So a
message of several steps holds the sum of their costs but only the last step's tokens; each step-finish
part is imported as its own event (`opencode:<part id>`), with the model, provider, path and creation
time of its message (the JSON store keeps no time for parts). A message with no step-finish part (older
versions) is imported as one event (`opencode:<message id>`). The same ids and times are used for the JSON
store and the database, so a store OpenCode migrated into its database counts once.

`cost` above zero becomes the provider-reported cost; zero (a subscription, a free model, a model without a
price) leaves the cost to costwarden's prices. Reasoning tokens: OpenCode bills them beside the output;
whether `output` already includes them depends on the provider behind it (the `total` decides, see
`costwarden.importers.token_split`). Provider = `providerID`, except for resellers (`github-copilot`,
`opencode`), where the model's maker is used and `providerID` is kept in the `opencode_provider` tag. Agent
`opencode`, session = the session id, project = last component of `path.root` (else `path.cwd`), `cwd` tag.

The database is read incrementally: only rows updated at or after the newest `time_updated` seen are read
(ids are stable, so a row read twice counts once); a database whose file and write-ahead log are unchanged
is not opened.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from costwarden.core.limits import MAX_DATE, MIN_DATE
from costwarden.core.usage import Usage, UsageEvent
from costwarden.importers.common import NothingToFinish
from costwarden.importers.documents import Document, WholeFile, built, file_stamp
from costwarden.importers.events import agent_attribution, imported_event
from costwarden.importers.token_split import output_and_reasoning, provider_of_model
from costwarden.importers.values import Malformed, amount, check_instant, check_text, load_object, tokens

__all__ = [
    "SOURCE",
    "OpenCodeDatabaseParser",
    "OpenCodeStorageParser",
    "default_paths",
    "store_files",
]

SOURCE = "opencode"
_RESELLERS = ("github-copilot", "opencode")
_STEP = b'"step-finish"'


def default_paths() -> list[Path]:
    base = os.environ.get("XDG_DATA_HOME")
    data = (Path(base).expanduser() if base else Path.home() / ".local" / "share") / "opencode"
    return [data] if data.is_dir() else []


def store_files(roots: list[Path]) -> tuple[list[Path], list[Path]]:
    """`(databases, JSON message and part files)` under `roots`."""
    databases: dict[str, Path] = {}
    documents: dict[str, Path] = {}
    for root in roots:
        if root.is_file():
            target = databases if root.suffix == ".db" else documents
            target.setdefault(str(root.resolve()), root)
            continue
        if not root.is_dir():
            continue
        for path in root.glob("opencode*.db"):
            if path.is_file():
                databases.setdefault(str(path.resolve()), path)
        base = root / "storage" if (root / "storage").is_dir() else root  # not the snapshots' git trees
        for path in base.rglob("*.json"):
            parts = path.relative_to(base).parts[:-1]
            if path.is_file() and ("message" in parts or "part" in parts or root.name in ("message", "part")):
                documents.setdefault(str(path.resolve()), path)
    return [databases[k] for k in sorted(databases)], [documents[k] for k in sorted(documents)]


def _millis(value: object, field: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{field}: expected a time in milliseconds, got {value!r}")
    if not MIN_DATE.timestamp() * 1000 <= value < MAX_DATE.timestamp() * 1000:
        raise Malformed(f"{field}: {value!r} is not a time between {MIN_DATE.year} and {MAX_DATE.year}")
    return check_instant(datetime.fromtimestamp(value / 1000, UTC), field)


def _usage(block: object, where: str) -> Usage | None:
    if not isinstance(block, dict):
        raise Malformed(f"{where}.tokens: expected an object")
    uncached = tokens(block, "input")
    output = tokens(block, "output")
    reasoning = tokens(block, "reasoning")
    read = tokens(block, "cache", "read")
    write = tokens(block, "cache", "write")
    total = tokens(block, "total") if block.get("total") is not None else None
    if not (uncached or output or reasoning or read or write):
        return None
    output, reasoning = output_and_reasoning(output, reasoning, total, uncached + read + write)
    return Usage(
        input_tokens=uncached,
        cache_read_tokens=read,
        cache_write_tokens=write,
        output_tokens=output,
        reasoning_tokens=reasoning,
    )


def usage_event(
    event_id: str,
    message: dict[str, Any],
    usage_of: dict[str, Any],
    session: str | None,
    at: datetime | None,
    where: str,
) -> UsageEvent | None:
    """The event of one step (`usage_of`: its step-finish part) or of a whole message (`usage_of` is the
    message); None when it used no tokens or is not an assistant's."""
    if message.get("role") != "assistant":
        return None
    usage = _usage(usage_of.get("tokens"), where)
    if usage is None:
        return None
    model, given_provider = message.get("modelID"), message.get("providerID")
    if not isinstance(model, str) or not model:
        raise Malformed(f"{where}: assistant message without a modelID")
    if not isinstance(given_provider, str) or not given_provider:
        raise Malformed(f"{where}: assistant message without a providerID")
    cost = amount(usage_of.get("cost"), f"{where}.cost")
    if at is None:
        times = message.get("time")
        at = _millis(times.get("created") if isinstance(times, dict) else None, f"{where}.time.created")
    path = message.get("path")
    cwd, root = (path.get("cwd"), path.get("root")) if isinstance(path, dict) else (None, None)
    place = root if isinstance(root, str) and root and root != "/" else cwd
    tags: dict[str, str] = {}
    if isinstance(cwd, str) and cwd:
        tags["cwd"] = cwd
    provider = given_provider
    if given_provider in _RESELLERS:
        provider = provider_of_model(model, given_provider)
        tags["opencode_provider"] = given_provider
    if session is None and isinstance(message.get("sessionID"), str):
        session = message["sessionID"]
    for value, name in ((model, "modelID"), (given_provider, "providerID"), (session, "sessionID")):
        if value is not None:
            check_text(value, f"{where}.{name}")
    return imported_event(
        id=check_text(event_id, f"{where}.id"),
        occurred_at=at,
        provider=provider,
        model=model,
        usage=usage,
        attribution=agent_attribution(
            SOURCE, place=place if isinstance(place, str) else None, session=session, tags=tags
        ),
        provider_cost=cost if cost else None,
    )


def _add(document: Document, where: str, build: Callable[[], UsageEvent | None]) -> None:
    try:
        event = build()
    except (Malformed, ValueError) as exc:
        document.problem(where, exc)
        return
    if event is not None:
        document.add(where, event.id, built(event))


_STEPS_SQL = """
SELECT p.id, p.session_id, p.time_updated, p.data, m.data
FROM part p JOIN message m ON m.id = p.message_id
WHERE p.time_updated >= ? AND p.data LIKE '%"step-finish"%'
"""
_MESSAGES_SQL = """
SELECT m.id, m.session_id, m.time_updated, m.data
FROM message m
WHERE m.time_updated >= ? AND m.data LIKE '%"assistant"%'
  AND NOT EXISTS (SELECT 1 FROM part p WHERE p.message_id = m.id AND p.data LIKE '%"step-finish"%')
"""


def _json(text: object, where: str) -> dict[str, Any]:
    if isinstance(text, bytes):
        return load_object(text)
    if not isinstance(text, str):
        raise Malformed(f"{where}: data is not JSON text")
    return load_object(text.encode("utf-8", "surrogatepass"))


class OpenCodeDatabaseParser(NothingToFinish):
    """`DocumentParser` for `opencode.db`."""

    source = SOURCE

    def stamp(self, path: Path) -> str:
        return file_stamp(path, path.with_name(path.name + "-wal"))

    def read(self, path: Path, state: dict[str, Any]) -> Document:
        since = state.get("updated", 0)
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise Malformed(f"cannot open the database: {exc}") from None
        document = Document()
        newest = since
        try:
            try:
                steps = connection.execute(_STEPS_SQL, (since,)).fetchall()
                messages = connection.execute(_MESSAGES_SQL, (since,)).fetchall()
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise OSError(f"the database is busy ({exc})") from None  # read it next time
                raise Malformed(f"not an OpenCode database ({exc})") from None
            except sqlite3.Error as exc:
                raise Malformed(f"not an OpenCode database ({exc})") from None
        finally:
            connection.close()
        for part_id, session, updated, part_data, message_data in steps:
            where = f"part {part_id}"
            newest = max(newest, updated if isinstance(updated, int) else since)
            document.items += 1

            def step(
                part_id: object = part_id,
                session: object = session,
                part_data: object = part_data,
                message_data: object = message_data,
                where: str = where,
            ) -> UsageEvent | None:
                part = _json(part_data, where)
                if part.get("type") != "step-finish":
                    return None
                return usage_event(
                    f"{SOURCE}:{part_id}",
                    _json(message_data, where),
                    part,
                    session if isinstance(session, str) else None,
                    None,
                    where,
                )

            _add(document, where, step)
        for message_id, session, updated, message_data in messages:
            where = f"message {message_id}"
            newest = max(newest, updated if isinstance(updated, int) else since)
            document.items += 1

            def whole(
                message_id: object = message_id,
                session: object = session,
                message_data: object = message_data,
                where: str = where,
            ) -> UsageEvent | None:
                message = _json(message_data, where)
                return usage_event(
                    f"{SOURCE}:{message_id}",
                    message,
                    message,
                    session if isinstance(session, str) else None,
                    None,
                    where,
                )

            _add(document, where, whole)
        state["updated"] = newest
        return document


class OpenCodeStorageParser(WholeFile):
    """`DocumentParser` for the JSON store: message files and step-finish part files."""

    source = SOURCE

    def read(self, path: Path, state: dict[str, Any]) -> Document:
        data = path.read_bytes()
        document = Document(items=1)
        if _STEP in data:
            part = load_object(data)
            if part.get("type") == "step-finish":
                _add(document, path.name, lambda: self._step(path, part))
            return document
        if b'"assistant"' not in data:
            load_object(data)  # a user message or another part: only check that it is JSON
            return document
        message = load_object(data)
        message_id = message.get("id")
        if not isinstance(message_id, str) or not message_id or _has_steps(path, message_id):
            return document
        _add(
            document,
            path.name,
            lambda: usage_event(f"{SOURCE}:{message_id}", message, message, None, None, "message"),
        )
        return document

    @staticmethod
    def _step(path: Path, part: dict[str, Any]) -> UsageEvent | None:
        part_id, message_id, session = part.get("id"), part.get("messageID"), part.get("sessionID")
        if not all(isinstance(v, str) and v and "/" not in v for v in (part_id, message_id, session)):
            raise Malformed("step-finish part without id, messageID and sessionID")
        storage = _storage_dir(path)
        message_file = storage / "message" / str(session) / f"{message_id}.json"
        try:
            message = load_object(message_file.read_bytes())
        except OSError:
            raise Malformed(f"its message {message_id} is not in the store") from None
        return usage_event(f"{SOURCE}:{part_id}", message, part, str(session), None, "part")


def _storage_dir(path: Path) -> Path:
    """The `storage` folder holding `path` (`.../storage/part/<message>/<part>.json`)."""
    return path.parent.parent.parent


def _has_steps(message_path: Path, message_id: str) -> bool:
    """Whether the message has step-finish parts (they are imported instead of the message)."""
    parts = message_path.parent.parent.parent / "part" / message_id
    if not parts.is_dir():
        return False
    for part in parts.glob("*.json"):
        try:
            if _STEP in part.read_bytes():
                return True
        except OSError:
            continue
    return False
