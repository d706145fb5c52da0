"""The files of one Claude Code session: its transcript and the sidechains of its subagents
(`<session>.jsonl` and `<session>/**/*.jsonl` beside it)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["session_files"]


def session_files(transcript: str | None) -> list[Path]:
    """The files that exist, transcript first, then the subagents' in path order."""
    if not transcript:
        return []
    path = Path(transcript).expanduser()
    files = [path] if path.is_file() else []
    folder = path.with_suffix("") if path.suffix == ".jsonl" else None
    if folder is not None and folder.is_dir():
        files += sorted(child for child in folder.rglob("*.jsonl") if child.is_file())
    return files
