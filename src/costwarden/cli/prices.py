"""`costwarden prices`: what a model costs, and which models in the ledger are unpriced or overridden."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from costwarden.cli.options import parse_when
from costwarden.cli.render import money_str
from costwarden.cli.state import state_of
from costwarden.core.money import format_usd
from costwarden.pricing.rates import ModelRates

__all__ = ["register", "prices_app"]

prices_app = typer.Typer(help="Model prices: show one, check the ledger.", no_args_is_help=True)

_RATE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("input", "input", "per MTok"),
    ("cache_read", "cache read", "per MTok"),
    ("cache_write", "cache write (5 min)", "per MTok"),
    ("cache_write_1h", "cache write (1 hour)", "per MTok"),
    ("output", "output", "per MTok"),
    ("reasoning", "reasoning", "per MTok"),
    ("web_search", "web search", "per 1k"),
    ("request", "request", "per 1k"),
)


def _rates_json(rates: ModelRates) -> dict[str, Any]:
    out: dict[str, Any] = {
        "provider": rates.provider,
        "model": rates.model,
        "source": rates.source,
        "price_ref": rates.price_ref,
        "effective_from": rates.effective_from.isoformat() if rates.effective_from else None,
    }
    for attr, _, _ in _RATE_ROWS:
        out[attr] = money_str(getattr(rates, attr))
    out["hardware_per_hour"] = (
        money_str(rates.hardware_per_hour) if rates.hardware_per_hour is not None else None
    )
    out["long_context_tiers"] = [
        {"above_input_tokens": threshold, **{a: money_str(getattr(r, a)) for a, _, _ in _RATE_ROWS}}
        for threshold, r in rates.tiers
    ]
    return out


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
    when = parse_when(at, "--at", settings.tz) if at else state.clock.now()
    prov = provider
    name = model
    if prov is None and "/" in model:
        prov, name = model.split("/", 1)
    book = state.warden.pricebook
    rates = book.rates(prov or "", name, when, service_tier)
    if rates is None:
        fallback = book.fallback_rates
        state.err.print(
            f"costwarden: unknown model {model!r}"
            + (f" for provider {prov!r}" if prov else "")
            + "; events for it are recorded as unpriced and budgeted at the fallback price "
            f"(input {format_usd(fallback.input)}, output {format_usd(fallback.output)} per MTok)",
            markup=False,
        )
        raise typer.Exit(1)
    tier = state.warden.tiers.classify(rates)
    if as_json:
        typer.echo(json.dumps({**_rates_json(rates), "cost_tier": tier}, indent=2))
        return
    table = Table(title=f"{rates.provider}/{rates.model}", title_justify="left")
    table.add_column("slice")
    table.add_column("USD", justify="right")
    table.add_column("unit")
    for threshold, tier_rates in ((0, rates), *rates.tiers):
        for attr, label, unit in _RATE_ROWS:
            value = getattr(tier_rates, attr)
            if value or attr in ("input", "output"):
                suffix = f" (> {threshold:,} input tokens)" if threshold else ""
                table.add_row(label + suffix, f"{value.normalize():f}", unit)
    if rates.hardware_per_hour is not None:
        table.add_row("hardware", f"{rates.hardware_per_hour.normalize():f}", "per hour")
    state.console.print(table)
    definition = state.warden.tiers.get(tier)
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
    book = state.warden.pricebook
    rows: list[dict[str, Any]] = []
    for seen in state.warden.ledger.models_seen():
        rates = book.rates(seen.provider, seen.model, state.clock.now())
        status = "unpriced" if rates is None else rates.source
        if status == "catalog" and seen.cost_source != "unpriced":
            continue
        rows.append(
            {
                "provider": seen.provider,
                "model": seen.model,
                "status": status,
                "recorded_as": seen.cost_source,
                "events": seen.events,
                "cost": money_str(seen.cost),
                "price_ref": rates.price_ref if rates is not None else None,
            }
        )
    unpriced = [r for r in rows if r["status"] == "unpriced" or r["recorded_as"] == "unpriced"]
    if as_json:
        typer.echo(json.dumps({"models": rows, "unpriced": len(unpriced)}, indent=2))
    elif not rows:
        state.console.print("Every model in the ledger is priced by the catalog.")
    else:
        table = Table()
        for col in ("provider", "model", "status", "recorded as", "events", "cost", "price"):
            table.add_column(col, justify="right" if col in ("events", "cost") else "left")
        for r in rows:
            table.add_row(
                r["provider"],
                r["model"],
                r["status"],
                r["recorded_as"],
                f"{r['events']:,}",
                f"${r['cost']}",
                r["price_ref"] or "fallback",
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
