"""`costwarden tiers`: the cost tiers models are classified into."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from costwarden.cli.state import state_of
from costwarden.views.tiers import tier_of, tiers_view

__all__ = ["register", "tiers_app"]

tiers_app = typer.Typer(help="Cost tiers (low, medium, high, premium and your own).", no_args_is_help=True)


@tiers_app.command("list")
def list_tiers(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the tiers in effect (built-ins changed by the config's `tiers:` section)."""
    state = state_of(ctx)
    result = tiers_view(state.warden)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    table = Table(caption="Ranges: blended USD per million tokens (see docs/pricing.md).")
    for col in ("id", "name", "range", "icon", "color", "description"):
        table.add_column(col)
    for t in result.tiers:
        table.add_row(
            t.id, t.display_name, t.describe_range(), t.icon or "", t.color or "", t.description or ""
        )
    state.console.print(table)


@tiers_app.command("classify")
def classify(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name.")],
    provider: Annotated[str | None, typer.Option("--provider")] = None,
) -> None:
    """Say which tier a model falls in, and its blended price."""
    state = state_of(ctx)
    found = tier_of(state.warden, model, provider)
    if found is None:
        state.err.print(f"costwarden: unknown model {model!r}", markup=False)
        raise typer.Exit(1)
    rates = found.rates
    state.console.print(
        f"{rates.provider}/{rates.model}: {found.tier} (blended ${found.blended.normalize():f} per MTok)",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tiers_app, name="tiers")
