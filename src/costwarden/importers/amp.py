"""Amp threads: `<data dir>/threads/T-<id>.json`, one JSON document per thread, rewritten as it grows.

Default data dir: `$XDG_DATA_HOME/amp`, else `~/.local/share/amp`. Amp is not open source; this format is
read from Amp's thread files as other usage tools read them, and is less certain than the others: a thread
has an `id` and `messages`; each assistant message has a `messageId` (a number) and a `usage` object with
`model`, `timestamp`, `inputTokens` (without the cache), `cacheCreationInputTokens`,
`cacheReadInputTokens`, `outputTokens`, `totalTokens` and, in some versions, `credits`. Older threads keep
their usage in `usageLedger.events[]` (`timestamp`, `model`, `credits`, `tokens` `{input, output}`,
`toMessageId`), with the cache split in the messages' `usage`: then the ledger is read. The thread's first
workspace (`env.initial.trees[0].uri`, a `file://` URI) is read as the project when present.

Event id `amp:<thread id>:<message id>` (a ledger event: the message it answered), so a thread file
rewritten with more messages adds only the new ones. Provider from the model name (`claude-*` ->
anthropic, `gpt-*` -> openai, `gemini-*` -> google; else `anthropic`), agent `amp`, session = the thread
id; Amp's `credits` are kept in the `amp_credits` tag (not a cost in USD).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from costwarden.core.usage import Usage, UsageEvent
from costwarden.importers.documents import Document, WholeFile, built
from costwarden.importers.events import agent_attribution, imported_event
from costwarden.importers.token_split import provider_of_model
from costwarden.importers.values import Malformed, amount, check_text, load_object, timestamp, tokens

__all__ = ["SOURCE", "AmpParser", "default_paths", "thread_files"]

SOURCE = "amp"


def default_paths() -> list[Path]:
    base = os.environ.get("XDG_DATA_HOME")
    threads = (Path(base).expanduser() if base else Path.home() / ".local" / "share") / "amp" / "threads"
    return [threads] if threads.is_dir() else []


def thread_files(roots: list[Path]) -> list[Path]:
    found: dict[str, Path] = {}
    for root in roots:
        candidates = [root] if root.is_file() else list(root.rglob("T-*.json")) if root.is_dir() else []
        for path in candidates:
            if path.is_file():
                found.setdefault(str(path.resolve()), path)
    return [found[key] for key in sorted(found)]


def _workspace(thread: dict[str, Any]) -> str | None:
    env = thread.get("env")
    initial = env.get("initial") if isinstance(env, dict) else None
    trees = initial.get("trees") if isinstance(initial, dict) else None
    if not isinstance(trees, list) or not trees or not isinstance(trees[0], dict):
        return None
    uri = trees[0].get("uri")
    if not isinstance(uri, str) or not uri.startswith("file://"):
        return None
    return check_text(unquote(urlparse(uri).path), "env.initial.trees[0].uri") or None


def _event(
    event_id: str,
    thread_id: str,
    workspace: str | None,
    model: object,
    at: object,
    usage: Usage,
    credits: object,
    where: str,
) -> UsageEvent | None:
    if not (usage.input_tokens or usage.output_tokens or usage.cache_read_tokens or usage.cache_write_tokens):
        return None
    if not isinstance(model, str) or not model:
        raise Malformed(f"{where}: usage without a model")
    check_text(model, f"{where}.model")
    tags: dict[str, str] = {}
    if workspace:
        tags["cwd"] = workspace
    spent = amount(credits, f"{where}.credits")
    if spent is not None:
        tags["amp_credits"] = str(spent)
    return imported_event(
        id=check_text(event_id, f"{where} id"),
        occurred_at=timestamp(at, field=f"{where}.timestamp"),
        provider=provider_of_model(model, "anthropic"),
        model=model,
        usage=usage,
        attribution=agent_attribution(SOURCE, place=workspace, session=thread_id, tags=tags),
    )


def _message_id(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


class AmpParser(WholeFile):
    """`DocumentParser` for Amp thread files."""

    source = SOURCE

    def read(self, path: Path, state: dict[str, Any]) -> Document:
        thread = load_object(path.read_bytes())
        thread_id = thread.get("id")
        if not isinstance(thread_id, str) or not thread_id:
            raise Malformed("not an Amp thread (no id)")
        check_text(thread_id, "id")
        messages = thread.get("messages")
        if not isinstance(messages, list):
            messages = []
        workspace = _workspace(thread)
        ledger = thread.get("usageLedger")
        entries = ledger.get("events") if isinstance(ledger, dict) else None
        document = Document()
        if isinstance(entries, list):
            caches: dict[str, tuple[int, int]] = {}
            for message in messages:
                if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                    key = _message_id(message.get("messageId"))
                    if key is not None:
                        block = message["usage"]
                        try:
                            cache = (
                                tokens(block, "cacheCreationInputTokens"),
                                tokens(block, "cacheReadInputTokens"),
                            )
                        except Malformed:
                            continue
                        caches[key] = cache
            for index, entry in enumerate(entries):
                where = f"usageLedger.events[{index}]"
                document.items += 1
                try:
                    event = self._ledger_event(entry, thread_id, workspace, caches, where)
                except (Malformed, ValueError) as exc:
                    document.problem(where, exc)
                    continue
                if event is not None:
                    document.add(where, event.id, built(event))
            return document
        for index, message in enumerate(messages):
            where = f"messages[{index}]"
            document.items += 1
            if not isinstance(message, dict) or message.get("role") != "assistant":
                continue
            try:
                event = self._message_event(message, thread_id, workspace, where)
            except (Malformed, ValueError) as exc:
                document.problem(where, exc)
                continue
            if event is not None:
                document.add(where, event.id, built(event))
        return document

    @staticmethod
    def _message_event(
        message: dict[str, Any], thread_id: str, workspace: str | None, where: str
    ) -> UsageEvent | None:
        block = message.get("usage")
        if block is None:
            return None
        if not isinstance(block, dict):
            raise Malformed(f"{where}.usage: expected an object")
        key = _message_id(message.get("messageId"))
        if key is None:
            raise Malformed(f"{where}: an assistant message without a messageId")
        usage = Usage(
            input_tokens=tokens(block, "inputTokens"),
            cache_read_tokens=tokens(block, "cacheReadInputTokens"),
            cache_write_tokens=tokens(block, "cacheCreationInputTokens"),
            output_tokens=tokens(block, "outputTokens"),
        )
        at = block.get("timestamp") or message.get("timestamp")
        model = block.get("model") or message.get("model")
        return _event(
            f"{SOURCE}:{thread_id}:{key}", thread_id, workspace, model, at, usage, block.get("credits"), where
        )

    @staticmethod
    def _ledger_event(
        entry: object, thread_id: str, workspace: str | None, caches: dict[str, tuple[int, int]], where: str
    ) -> UsageEvent | None:
        if not isinstance(entry, dict):
            raise Malformed("not an object")
        block = entry.get("tokens")
        if not isinstance(block, dict):
            raise Malformed(f"{where}.tokens: expected an object")
        key = _message_id(entry.get("toMessageId")) or _message_id(entry.get("id"))
        if key is None:
            raise Malformed(f"{where}: a ledger event without toMessageId or id")
        write, read = caches.get(key, (0, 0))
        usage = Usage(
            input_tokens=tokens(block, "input"),
            cache_read_tokens=read,
            cache_write_tokens=write,
            output_tokens=tokens(block, "output"),
        )
        return _event(
            f"{SOURCE}:{thread_id}:{key}",
            thread_id,
            workspace,
            entry.get("model"),
            entry.get("timestamp"),
            usage,
            entry.get("credits"),
            where,
        )
