"""The `costwarden` command line: one Typer app, one module per command group.

`app` and `main` are loaded on first use, so `costwarden --version` answers without importing the CLI.
"""

from __future__ import annotations

from costwarden.cli.entry import run

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: `costwarden --version` does without typing
if TYPE_CHECKING:
    from typing import Any

    from costwarden.cli.app import app, main

__all__ = ["app", "main", "run"]


def __getattr__(name: str) -> Any:
    if name in ("app", "main"):
        import importlib

        module = importlib.import_module("costwarden.cli.app")
        # as before: the package's `app` is the Typer app, not its module
        globals().update(app=module.app, main=module.main)
        return getattr(module, name)
    raise AttributeError(f"module 'costwarden.cli' has no attribute {name!r}")
