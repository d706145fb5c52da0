"""Random bytes and random JSON fed to every importer: never an exception, and every good
line is imported.

Each example is one log file mixing good lines (each with a unique id and a marker output count) with
random byte strings, random JSON values, and good records with one field (at any depth) replaced by a
random JSON value (NaN, huge numbers, lone surrogates, NUL, deep lists...), some written as raw, invalid
UTF-8.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costwarden.importers import ClaudeCodeParser, CodexParser, find_files, import_files
from costwarden.importers.common import LineParser
from costwarden.importers.copilot_cli import CopilotCliParser
from costwarden.importers.gemini_cli import GeminiCliParser
from costwarden.importers.qwen_code import QwenCodeParser
from costwarden.ledger import Ledger, MemoryLedger
from costwarden.storage.sql.ledger import open_ledger
from costwarden.testing.agent_logs import (
    claude_assistant,
    codex_token_count,
    codex_usage,
    copilot_chat_span,
    gemini_message,
    qwen_assistant,
)
from costwarden.warden import Warden

MARK = 770_000  # good lines carry output tokens MARK + n


def claude_good(n: int) -> str:
    return claude_assistant(
        message_id=f"msg_good_{n}", request_id=f"req_good_{n}", at="2026-11-20T10:00:00Z", output=MARK + n
    )


def codex_good(n: int) -> str:
    turn = codex_usage(1000, 0, MARK + n, 0)
    return codex_token_count(f"2026-11-20T10:{n // 60 % 60:02d}:{n % 60:02d}Z", last=turn, total=None)


def gemini_good(n: int) -> str:
    return gemini_message(f"g-{n}", "2026-11-20T10:00:00Z", prompt=1000, candidates=MARK + n)


def qwen_good(n: int) -> str:
    return qwen_assistant(
        f"q-{n}", "s", "/home/dev/api", "2026-11-20T10:00:00Z", prompt=1000, candidates=MARK + n
    )


def copilot_good(n: int) -> str:
    return copilot_chat_span(
        f"t-{n}", f"s-{n}", end=(1_763_632_800, n), input_tokens=1000, output_tokens=MARK + n
    )


Importer = tuple[Callable[[], LineParser], Callable[[int], str]]
IMPORTERS: dict[str, Importer] = {
    "claude-code": (ClaudeCodeParser, claude_good),
    "codex": (CodexParser, codex_good),
    "gemini-cli": (GeminiCliParser, gemini_good),
    "qwen-code": (QwenCodeParser, qwen_good),
    "copilot-cli": (CopilotCliParser, copilot_good),
}

text = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates and NUL included
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
deep = st.integers(min_value=1, max_value=3000).map(lambda depth: "[" * depth + "]" * depth)


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(_paths(child, (*prefix, key)))
    return out


def _replaced(record: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(record))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def _encode(value: Any, raw: bool) -> bytes:
    """Compact JSON; `raw` writes non-ASCII as is (lone surrogates become invalid UTF-8)."""
    dumped = json.dumps(value, separators=(",", ":"), ensure_ascii=not raw)
    return dumped.encode("utf-8", "surrogatepass")


@st.composite
def bad_line(draw: st.DrawFn, template: dict[str, Any]) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutated", "mutated", "mutated", "deep", "truncated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=80)).replace(b"\n", b" ")
    if kind == "json":
        return _encode(draw(json_values), draw(st.booleans()))
    if kind == "deep":
        path = draw(st.sampled_from(_paths(template)))
        return _encode(_replaced(template, path, None), False).replace(b"null", draw(deep).encode(), 1)
    mutated = _replaced(template, draw(st.sampled_from(_paths(template))), draw(json_values))
    line = _encode(mutated, draw(st.booleans()))
    if kind == "truncated":
        return line[: draw(st.integers(min_value=0, max_value=len(line)))]
    return line


@st.composite
def log_file(draw: st.DrawFn, name: str) -> tuple[list[bytes], list[int]]:
    """Lines of one file, and the numbers of its good lines."""
    _, good = IMPORTERS[name]
    template = json.loads(good(0))
    template_bad = bad_line(template)
    lines: list[bytes] = []
    goods: list[int] = []
    for n in range(1, draw(st.integers(min_value=1, max_value=12)) + 1):
        if draw(st.booleans()):
            goods.append(n)
            lines.append(good(n).encode())
        else:
            lines.append(draw(template_bad))
    return lines, goods


def _check(name: str, ledger: Ledger, root: Path, lines: list[bytes], goods: list[int]) -> None:
    parser, _ = IMPORTERS[name]
    root.mkdir(parents=True, exist_ok=True)
    path = root / "fuzz.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    stats = import_files(Warden(ledger=ledger), parser(), find_files([root]))  # never raises
    assert stats.lines == len(lines)
    assert stats.malformed <= len(lines) - len(goods)
    outputs = {event.usage.output_tokens for event in ledger.events()}
    missing = [n for n in goods if MARK + n not in outputs]
    assert not missing, (missing, stats.malformed_at)
    again = import_files(Warden(ledger=ledger), parser(), find_files([root]))
    assert (again.lines, again.inserted) == (0, 0)


@pytest.mark.parametrize("name", list(IMPORTERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_lines_never_stop_an_import_memory(
    name: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    lines, goods = data.draw(log_file(name))
    _check(name, MemoryLedger(), tmp_path_factory.mktemp("fuzz"), lines, goods)


@pytest.mark.parametrize("name", list(IMPORTERS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_lines_never_stop_an_import_sqlite(
    name: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    lines, goods = data.draw(log_file(name))
    root = tmp_path_factory.mktemp("fuzz")
    ledger = open_ledger(f"sqlite:///{root / 'ledger.db'}")
    try:
        _check(name, ledger, root / "logs", lines, goods)
    finally:
        ledger.close()
