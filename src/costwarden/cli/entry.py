"""The console script's first step: answers `costwarden --version` and `--help` and runs `costwarden
statusline` without loading the CLI (typer, rich, pydantic, SQLAlchemy), then hands everything else to
`costwarden.cli.app.main`."""

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
    if args and args[-1] == "--help":
        from costwarden.cli.fasthelp import stored_help

        text = stored_help(args)
        if text is not None:
            sys.stdout.write(text)
            sys.exit(0)
    if "statusline" in args:
        from costwarden.statusline.command import parse_args, read_stdin
        from costwarden.statusline.command import run as statusline

        options = parse_args(args)
        if options is not None:
            sys.exit(statusline(options, read_stdin()))
    from costwarden.cli.app import main

    sys.exit(main(args))
