"""Every agent whose local logs costwarden imports: its name, where its logs are by default, and how its
files are split among its parsers (a line parser for append-only JSONL, a document parser for whole-file
formats). `costwarden import <name>` imports one agent; `costwarden import all` every agent found in its
default locations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from costwarden.importers import amp, claude_code, codex, copilot_cli, gemini_cli, opencode, qwen_code
from costwarden.importers.common import (
    DEFAULT_MAX_LINE_BYTES,
    LineParser,
    OffsetStore,
    find_files,
    import_files,
    offsets_for,
)
from costwarden.importers.documents import DocumentParser, import_documents
from costwarden.importers.stats import ImportStats
from costwarden.warden import Warden

__all__ = ["Pass", "Agent", "AGENTS", "agent_named", "run_passes"]


@dataclass(frozen=True)
class Pass:
    """One parser and the files it reads."""

    parser: LineParser | DocumentParser
    files: list[Path]


@dataclass(frozen=True)
class Agent:
    """An agent CLI whose logs can be imported."""

    name: str
    title: str
    locations: str
    """Where its logs are by default (for help and docs)."""
    default_paths: Callable[[], list[Path]]
    plan: Callable[[list[Path]], list[Pass]]
    """The passes over the files found under the given roots (new parsers each time)."""


def _claude(roots: list[Path]) -> list[Pass]:
    return [Pass(claude_code.ClaudeCodeParser(), find_files(roots))]


def _codex(roots: list[Path]) -> list[Pass]:
    return [Pass(codex.CodexParser(), find_files(roots))]


def _gemini(roots: list[Path]) -> list[Pass]:
    lines, documents = gemini_cli.chat_files(roots)
    return [Pass(gemini_cli.GeminiCliParser(), lines), Pass(gemini_cli.GeminiCliSessionParser(), documents)]


def _qwen(roots: list[Path]) -> list[Pass]:
    return [Pass(qwen_code.QwenCodeParser(), qwen_code.chat_files(roots))]


def _opencode(roots: list[Path]) -> list[Pass]:
    databases, documents = opencode.store_files(roots)
    return [
        Pass(opencode.OpenCodeStorageParser(), documents),
        Pass(opencode.OpenCodeDatabaseParser(), databases),
    ]


def _copilot(roots: list[Path]) -> list[Pass]:
    return [Pass(copilot_cli.CopilotCliParser(), find_files(roots))]


def _amp(roots: list[Path]) -> list[Pass]:
    return [Pass(amp.AmpParser(), amp.thread_files(roots))]


AGENTS: tuple[Agent, ...] = (
    Agent(
        "claude-code",
        "Claude Code",
        "$CLAUDE_CONFIG_DIR, ~/.config/claude, ~/.claude: projects/**/*.jsonl",
        claude_code.default_paths,
        _claude,
    ),
    Agent(
        "codex", "Codex", "$CODEX_HOME, default ~/.codex: sessions/**/*.jsonl", codex.default_paths, _codex
    ),
    Agent(
        "gemini-cli",
        "Gemini CLI",
        "$GEMINI_CLI_HOME/.gemini or ~/.gemini: tmp/*/chats/*.jsonl and legacy *.json",
        gemini_cli.default_paths,
        _gemini,
    ),
    Agent(
        "qwen-code",
        "Qwen Code",
        "$QWEN_RUNTIME_DIR, $QWEN_HOME or ~/.qwen: projects/*/chats/*.jsonl",
        qwen_code.default_paths,
        _qwen,
    ),
    Agent(
        "opencode",
        "OpenCode",
        "$XDG_DATA_HOME/opencode or ~/.local/share/opencode: opencode.db and storage/",
        opencode.default_paths,
        _opencode,
    ),
    Agent(
        "copilot-cli",
        "GitHub Copilot CLI",
        "its OpenTelemetry file export: ~/.copilot/otel/*.jsonl and $COPILOT_OTEL_FILE_EXPORTER_PATH",
        copilot_cli.default_paths,
        _copilot,
    ),
    Agent(
        "amp",
        "Amp",
        "$XDG_DATA_HOME/amp or ~/.local/share/amp: threads/T-*.json",
        amp.default_paths,
        _amp,
    ),
)


def agent_named(name: str) -> Agent:
    for agent in AGENTS:
        if agent.name == name:
            return agent
    raise KeyError(name)


def run_passes(
    warden: Warden,
    passes: Sequence[Pass],
    *,
    batch_size: int = 2000,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    offsets: OffsetStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportStats:
    """Import every pass; the stats of all of them together."""
    store = offsets if offsets is not None else offsets_for(warden)
    total = ImportStats()
    for one in passes:
        if isinstance(one.parser, LineParser):
            stats = import_files(
                warden,
                one.parser,
                one.files,
                batch_size=batch_size,
                max_line_bytes=max_line_bytes,
                progress=progress,
                offsets=store,
            )
        else:
            stats = import_documents(
                warden,
                one.parser,
                one.files,
                batch_size=batch_size,
                offsets=store,
            )
        total.merge(stats)
    return total
