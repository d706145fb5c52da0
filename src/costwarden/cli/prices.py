"""`costwarden prices`: what a model costs, and which models in the ledger are unpriced or overridden."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from costwarden.cli.options import parse_when
from costwarden.cli.state import state_of
from costwarden.core.money import format_usd
from costwarden.views.prices import RATE_SLICES, PriceQuery, model_and_provider, price_check, price_view

__all__ = ["register", "prices_app"]

prices_app = typer.Typer(help="Model prices: show one, check the ledger.", no_args_is_help=True)


@prices_app.command("show")
def show(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name, e.g. claude-sonnet-4-5 or openai/gpt-5.")],
    provider: Annotated[
        str | None, typer.Option("--provider", help="Provider id (default: found from the model).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Prices in force at this date/time (default now).")
    ] = None,
    service_tier: Annotated[
        str | None, typer.Option("--service-tier", help="batch, flex or priority.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the per-slice prices of a model, its long-context tiers and its cost tier."""
    state = state_of(ctx)
    settings = state.settings
    when = parse_when(at, "--at", settings.tz) if at else None
    result = price_view(state.warden, PriceQuery(model, provider, when, service_tier))
    if result is None:
        prov, _ = model_and_provider(model, provider)
        fallback = state.warden.pricebook.fallback_rates
        state.err.print(
            f"costwarden: unknown model {model!r}"
            + (f" for provider {prov!r}" if prov else "")
            + "; events for it are recorded as unpriced and budgeted at the fallback price "
            f"(input {format_usd(fallback.input)}, output {format_usd(fallback.output)} per MTok)",
            markup=False,
        )
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    rates, tier = result.rates, result.cost_tier
    table = Table(title=f"{rates.provider}/{rates.model}", title_justify="left")
    table.add_column("slice")
    table.add_column("USD", justify="right")
    table.add_column("unit")
    for threshold, tier_rates in ((0, rates), *rates.tiers):
        for attr, label, unit in RATE_SLICES:
            value = getattr(tier_rates, attr)
            if value or attr in ("input", "output"):
                suffix = f" (> {threshold:,} input tokens)" if threshold else ""
                table.add_row(label + suffix, f"{value.normalize():f}", unit)
    if rates.hardware_per_hour is not None:
        table.add_row("hardware", f"{rates.hardware_per_hour.normalize():f}", "per hour")
    state.console.print(table)
    definition = result.tier
    state.console.print(f"source: {rates.source}    price: {rates.price_ref}", markup=False)
    state.console.print(
        f"cost tier: {tier}" + (f" ({definition.display_name})" if definition else ""), markup=False
    )


@prices_app.command("check")
def check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List models seen in the ledger that are unpriced or priced by overrides, custom or local prices.

    Exits 1 when any unpriced model is found (usable as a CI check).
    """
    state = state_of(ctx)
    result = price_check(state.warden)
    unpriced = result.unpriced
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    elif not result.rows:
        state.console.print("Every model in the ledger is priced by the catalog.")
    else:
        table = Table()
        for col in ("provider", "model", "status", "recorded as", "events", "cost", "price"):
            table.add_column(col, justify="right" if col in ("events", "cost") else "left")
        for r in result.rows:
            table.add_row(
                r.provider,
                r.model,
                r.status,
                r.recorded_as,
                f"{r.events:,}",
                f"${r.to_json()['cost']}",
                r.price_ref or "fallback",
            )
        state.console.print(table)
        if unpriced:
            state.console.print(
                f"{len(unpriced)} model(s) are unpriced: "
                "add them under pricing.custom_models or pricing.overrides.",
                markup=False,
            )
    if unpriced:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(prices_app, name="prices")
