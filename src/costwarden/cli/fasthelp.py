"""`costwarden [COMMAND...] --help` answered from the stored texts (`costwarden.cli.helptexts`, generated from
the Typer app and checked against it by the tests), without loading the CLI.

Only the plain form is answered here (command names, then `--help`), on a terminal at least as wide as the
texts were rendered for; anything else goes to the Typer app, which prints the same.
"""

from __future__ import annotations

import os
import sys

__all__ = ["stored_help", "terminal_columns"]


def terminal_columns() -> int:
    """The terminal width the help formatter would use: `$COLUMNS`, else stdout's terminal, else 80 (as
    `shutil.get_terminal_size`)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def stored_help(args: list[str]) -> str | None:
    """The help `args` (`["budget", "status", "--help"]`) ask for, or None when the Typer app must answer."""
    if not args or args[-1] != "--help" or any(arg.startswith("-") for arg in args[:-1]):
        return None
    from costwarden.cli.helptexts import TEXTS, WIDTH

    if terminal_columns() < WIDTH:
        return None
    return TEXTS.get(" ".join(args[:-1]))
