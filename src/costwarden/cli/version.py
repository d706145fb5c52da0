"""`costwarden --version`: spotted among the global options and answered without loading the CLI."""

from __future__ import annotations

__all__ = ["version_text", "wants_version"]

_VALUE_OPTIONS = ("--db", "--config")


def wants_version(args: list[str]) -> bool:
    """Whether `--version` is among the global options (before any subcommand)."""
    index = 0
    while index < len(args) and args[index].startswith("-"):
        if args[index] == "--version":
            return True
        index += 2 if args[index] in _VALUE_OPTIONS else 1
    return False


def version_text() -> str:
    """`costwarden 0.1.0`."""
    from costwarden._version import __version__

    return f"costwarden {__version__}"
