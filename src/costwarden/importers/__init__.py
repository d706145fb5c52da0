"""Importers for coding agents' local logs: Claude Code and Codex (`costwarden import ...`)."""

from costwarden.importers.claude_code import ClaudeCodeParser
from costwarden.importers.codex import CodexParser
from costwarden.importers.common import ImportStats, Malformed, find_files, import_files, offsets_for

__all__ = [
    "ClaudeCodeParser",
    "CodexParser",
    "ImportStats",
    "Malformed",
    "find_files",
    "import_files",
    "offsets_for",
]
