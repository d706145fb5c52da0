"""`costwarden config import FILE`: a config file written in one of the seeds' dialects, as costwarden's own
YAML, with what was mapped where."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from costwarden.cli.state import state_of
from costwarden.config import read_config_file, settings_from_mapping
from costwarden.dialects import translate
from costwarden.render.text import print_wide

__all__ = ["register", "config_app", "plain"]

config_app = typer.Typer(
    help="Configuration: import a file written in another tool's shape.", no_args_is_help=True
)


def plain(value: Any) -> Any:
    """`value` with Decimals and dates as YAML can write them (a Decimal a float shows exactly stays a
    number, else it is a string)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        number = float(value)
        return number if Decimal(repr(number)) == value else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@config_app.command("import")
def import_config(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The config file (YAML, or TOML by its .toml suffix).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the costwarden config here (default: stdout)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --output when it exists.")] = False,
) -> None:
    """Write FILE as costwarden's own configuration and show which key went where. The loader reads these
    dialects as they are (docs/configuration.md); importing gives a file in costwarden's schema to edit."""
    state = state_of(ctx)
    data = read_config_file(file)
    settings_from_mapping(data, str(file))  # refuses what the loader refuses, naming the file's keys
    translation = translate(data, str(file))
    if output is not None and output.exists() and not force:
        raise typer.BadParameter(f"{output} exists; add --force to replace it", param_hint="--output")
    header = f"# costwarden configuration imported from {file.name}"
    if translation.dialects:
        header += f" ({', '.join(translation.dialects)})"
    text = header + "\n" + yaml.safe_dump(plain(translation.data), sort_keys=False, allow_unicode=True)
    if output is None:
        typer.echo(text, nl=False)
        console = state.err
    else:
        temporary = output.with_name(f".{output.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, output)
        console = state.console
        console.print(f"Wrote {output}.", markup=False)
    if not translation.dialects:
        console.print(f"{file} is already in costwarden's schema; nothing was mapped.", markup=False)
        return
    table = Table(title=f"Mapped from {file.name}", title_justify="left", header_style="bold", box=None)
    for name in ("key in the file", "costwarden", "note"):
        table.add_column(name)
    for item in translation.mapped:
        table.add_row(escape(item.source), escape(item.target or "(nothing)"), escape(item.note))
    print_wide(console, table)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
