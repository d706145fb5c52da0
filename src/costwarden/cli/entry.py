"""The console script's first step: answers `costwarden --version` without loading the CLI (typer, rich,
pydantic, SQLAlchemy), then hands everything else to `costwarden.cli.app.main`."""

from __future__ import annotations

import sys

from costwarden.cli.version import version_text, wants_version

__all__ = ["run"]


def run() -> None:
    """Entry point of the `costwarden` console script."""
    args = sys.argv[1:]
    if wants_version(args):
        sys.stdout.write(version_text() + "\n")
        sys.exit(0)
    from costwarden.cli.app import main

    sys.exit(main(args))
