"""The console script's first step: answers `costwarden --version` without loading the CLI (typer, rich,
pydantic, SQLAlchemy), then hands everything else to `costwarden.cli.app.main`."""

from __future__ import annotations

import sys

__all__ = ["run", "wants_version", "version_text"]

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


def run() -> None:
    """Entry point of the `costwarden` console script."""
    args = sys.argv[1:]
    if wants_version(args):
        sys.stdout.write(version_text() + "\n")
        sys.exit(0)
    from costwarden.cli.app import main

    sys.exit(main(args))
