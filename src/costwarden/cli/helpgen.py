"""The stored `--help` texts (`costwarden/cli/helptexts.py`), generated from the Typer app itself so they
cannot drift.

    python -m costwarden.cli.helpgen > src/costwarden/cli/helptexts.py
    ruff format src/costwarden/cli/helptexts.py

`tests/cli/test_fast_help.py` fails when the stored texts differ from what the app prints.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["WIDTH", "command_paths", "live_help", "render_module", "main"]

WIDTH = 80
"""The terminal width the texts are rendered at; the help formatter caps wider terminals to it."""


def _paths(command: Any, ctx: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield path
    if callable(getattr(command, "list_commands", None)):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None:
                continue
            import typer

            yield from _paths(sub, typer.Context(sub, info_name=name, parent=ctx), (*path, name))


def command_paths() -> list[tuple[str, ...]]:
    """Every command of the app, the root `()` first (`("budget", "status")`...)."""
    import typer

    from costwarden.cli.app import _register, app

    _register()
    group = typer.main.get_command(app)
    return list(_paths(group, typer.Context(group, info_name="costwarden"), ()))


def live_help(path: tuple[str, ...]) -> str:
    """What `costwarden <path> --help` prints on a terminal `WIDTH` columns wide."""
    from costwarden.cli.app import main

    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = main([*path, "--help"])
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    if code != 0:
        raise RuntimeError(f"costwarden {' '.join(path)} --help exited with {code}")
    return out.getvalue()


def _literal(text: str) -> list[str]:
    """`text` as one string literal per line (double-quoted, as the formatter keeps them)."""
    return [json.dumps(line) for line in text.splitlines(keepends=True)] or ['""']


def render_module() -> str:
    """The source of `costwarden/cli/helptexts.py`."""
    lines = [
        '"""Every command\'s `--help` text as the Typer app prints it on a terminal of at least 80 columns,',
        "so `costwarden ... --help` answers without loading the CLI. Generated; do not edit by hand:",
        "",
        "    python -m costwarden.cli.helpgen > src/costwarden/cli/helptexts.py",
        "    ruff format src/costwarden/cli/helptexts.py",
        '"""',
        "",
        '__all__ = ["WIDTH", "TEXTS"]',
        "",
        f"WIDTH = {WIDTH}",
        "TEXTS: dict[str, str] = {",
    ]
    for path in command_paths():
        lines.append(f"    {json.dumps(' '.join(path))}: (")
        lines += [f"        {piece}" for piece in _literal(live_help(path))]
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render_module())


if __name__ == "__main__":
    main()
