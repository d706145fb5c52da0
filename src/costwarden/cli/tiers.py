"""`costwarden tiers`: the cost tiers models are classified into."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from costwarden.cli.render import money_str
from costwarden.cli.state import state_of

__all__ = ["register", "tiers_app"]

tiers_app = typer.Typer(help="Cost tiers (low, medium, high, premium and your own).", no_args_is_help=True)


@tiers_app.command("list")
def list_tiers(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the tiers in effect (built-ins changed by the config's `tiers:` section)."""
    state = state_of(ctx)
    tiers = state.warden.tiers.all()
    if as_json:
        payload = [
            {
                "id": t.id,
                "display_name": t.display_name,
                "description": t.description,
                "price_range_min": money_str(t.price_range_min),
                "price_range_max": money_str(t.price_range_max) if t.price_range_max is not None else None,
                "color": t.color,
                "icon": t.icon,
            }
            for t in tiers
        ]
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(caption="Ranges: blended USD per million tokens (see docs/pricing.md).")
    for col in ("id", "name", "range", "icon", "color", "description"):
        table.add_column(col)
    for t in tiers:
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
    prov = provider
    name = model
    if prov is None and "/" in model:
        prov, name = model.split("/", 1)
    rates = state.warden.pricebook.rates(prov or "", name, state.clock.now())
    if rates is None:
        state.err.print(f"costwarden: unknown model {model!r}", markup=False)
        raise typer.Exit(1)
    tier = state.warden.tiers.classify(rates)
    blended = state.warden.tiers.blended_price(rates)
    state.console.print(
        f"{rates.provider}/{rates.model}: {tier} (blended ${blended.normalize():f} per MTok)", markup=False
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tiers_app, name="tiers")
