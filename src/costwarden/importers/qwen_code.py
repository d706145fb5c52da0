"""Qwen Code chat recordings: `<runtime dir>/projects/<project>/chats/<session>.jsonl`.

Default runtime dir: `$QWEN_RUNTIME_DIR`, else `$QWEN_HOME`, else `~/.qwen` (Qwen Code's own variables;
both are searched when they differ). Read from Qwen Code's `ChatRecordingService`
(packages/core/src/services/chatRecordingService.ts): an append-only JSONL file of `ChatRecord`s, each with
`uuid`, `parentUuid`, `sessionId`, `timestamp`, `type` (`user`, `assistant`, `tool_result`, `system`),
`cwd`, `version`, `gitBranch`; an `assistant` record carries the `model` and the response's
`usageMetadata` in Gemini's shape (`promptTokenCount` including `cachedContentTokenCount`,
`candidatesTokenCount`, `thoughtsTokenCount`, `toolUsePromptTokenCount`, `totalTokenCount`). Qwen Code
fills it from whichever API it talks to: from OpenAI-compatible APIs the candidates include the thoughts
(total = prompt + candidates), from Gemini they do not; the total decides (see
`costwarden.importers.token_split`).

Event id `qwen-code:<uuid>`: a session forked with `/branch` copies its parent's records with the same
`uuid`, so they count once. Provider from the model name (`qwen*` -> alibaba, `gpt-*` -> openai, ...,
else `alibaba`), agent `qwen-code`, session = `sessionId`, project = last component of `cwd` (full path in
the `cwd` tag), `gitBranch` -> `git_branch`, subagent records (`isSidechain`) -> `sidechain=true`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from costwarden.core.usage import Usage
from costwarden.importers.common import NothingToFinish, Record
from costwarden.importers.events import agent_attribution, imported_event
from costwarden.importers.token_split import gemini_slices, provider_of_model
from costwarden.importers.values import Malformed, check_text, load_object, timestamp, tokens

__all__ = ["SOURCE", "QwenCodeParser", "default_paths", "chat_files"]

SOURCE = "qwen-code"


def _roots() -> list[Path]:
    home = Path(os.environ.get("QWEN_HOME") or "~/.qwen").expanduser()
    runtime = os.environ.get("QWEN_RUNTIME_DIR")
    roots = [Path(runtime).expanduser()] if runtime else []
    return [*roots, home] if home not in roots else roots


def default_paths() -> list[Path]:
    """`projects/` of each Qwen Code runtime dir that exists."""
    return [root / "projects" for root in _roots() if (root / "projects").is_dir()]


def chat_files(roots: list[Path]) -> list[Path]:
    """`*.jsonl` files under `roots` that sit in a `chats` folder (files given by name as they are)."""
    found: dict[str, Path] = {}
    for root in roots:
        if root.is_file():
            found.setdefault(str(root.resolve()), root)
        elif root.is_dir():
            for path in root.rglob("*.jsonl"):
                if path.is_file() and path.parent.name == "chats":
                    found.setdefault(str(path.resolve()), path)
    return [found[key] for key in sorted(found)]


def _text(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    return check_text(value, key) if isinstance(value, str) and value else None


class QwenCodeParser(NothingToFinish):
    """`LineParser` for Qwen Code JSONL."""

    source = SOURCE

    def new_state(self, path: Path) -> dict[str, Any]:
        return {"model": None}

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        if b'"usageMetadata"' not in line:
            if not (line.lstrip().startswith(b"{") and line.rstrip().endswith(b"}")):
                raise Malformed("not a JSON object")
            return []
        record = load_object(line)
        model = _text(record, "model")
        if model:
            state["model"] = model
        block = record.get("usageMetadata")
        if record.get("type") != "assistant" or block is None:
            return []
        if not isinstance(block, dict):
            raise Malformed(f"usageMetadata: expected an object, got {type(block).__name__}")
        names = ("promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount")
        prompt, candidates, cached = (tokens(block, name) for name in names)
        thoughts = tokens(block, "thoughtsTokenCount")
        tool = tokens(block, "toolUsePromptTokenCount")
        total = tokens(block, "totalTokenCount") if block.get("totalTokenCount") is not None else None
        if not (prompt or candidates or cached or thoughts or tool):
            return []
        uuid = _text(record, "uuid")
        if uuid is None:
            raise Malformed("assistant record without a uuid")
        model = model or state.get("model")
        if not model:
            raise Malformed("assistant record names no model")
        uncached, cache_read, output, reasoning = gemini_slices(
            prompt=prompt, candidates=candidates, cached=cached, thoughts=thoughts, tool=tool, total=total
        )
        usage = Usage(
            input_tokens=uncached,
            cache_read_tokens=cache_read,
            output_tokens=output,
            reasoning_tokens=reasoning,
        )
        at = timestamp(record.get("timestamp"))
        cwd, session, branch = _text(record, "cwd"), _text(record, "sessionId"), _text(record, "gitBranch")
        tags: dict[str, str] = {}
        if cwd:
            tags["cwd"] = cwd
        if branch:
            tags["git_branch"] = branch
        if record.get("isSidechain") is True:
            tags["sidechain"] = "true"
        event_id = check_text(f"{SOURCE}:{uuid}", "uuid")
        event = imported_event(
            id=event_id,
            occurred_at=at,
            provider=provider_of_model(model, "alibaba"),
            model=model,
            usage=usage,
            attribution=agent_attribution(SOURCE, place=cwd, session=session, tags=tags),
        )
        return [(event_id, lambda: event)]
