"""Importers for coding agents' local logs (`costwarden import ...`): Claude Code, Codex, Gemini CLI, Qwen
Code, OpenCode, GitHub Copilot CLI and Amp. `costwarden.importers.agents` lists them with their default
locations."""

from costwarden.importers.claude_code import ClaudeCodeParser
from costwarden.importers.codex import CodexParser
from costwarden.importers.common import find_files, import_files, offsets_for
from costwarden.importers.stats import ImportStats, MalformedLine
from costwarden.importers.values import Malformed

__all__ = [
    "ClaudeCodeParser",
    "CodexParser",
    "ImportStats",
    "Malformed",
    "MalformedLine",
    "find_files",
    "import_files",
    "offsets_for",
]
