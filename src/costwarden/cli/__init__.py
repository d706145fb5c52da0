"""The `costwarden` command line: one Typer app, one module per command group."""

from costwarden.cli.app import app, main, run

__all__ = ["app", "main", "run"]
