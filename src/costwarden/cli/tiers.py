"""`costwarden tiers`: the cost tiers models are classified into; add, change and remove them.

Tiers set here are stored in the database next to the events and apply to every process using it. The
config file's `tiers:` section wins on an id it names; the commands say so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from costwarden.cli.state import CliState, state_of
from costwarden.pricing.tiers import CostTierDefinition
from costwarden.tier_edits import TierEdit, TierEditRefused, add_tier, remove_tier, set_tier
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
    for col in ("id", "name", "range", "from", "icon", "color", "description"):
        table.add_column(col)
    for t in result.tiers:
        table.add_row(
            t.id,
            t.display_name,
            t.describe_range(),
            result.origins.get(t.id, "builtin"),
            t.icon or "",
            t.color or "",
            t.description or "",
        )
    state.console.print(table)
    source = state.settings.source or "the config file"
    for tier_id in result.shadowed:
        state.err.print(f"Note: {source} overrides tier {tier_id!r} set from the CLI.", markup=False)
    for tier_id, reason in result.skipped:
        state.err.print(f"Note: tier {tier_id!r} set from the CLI is left out: {reason}", markup=False)


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


_Name = Annotated[str | None, typer.Option("--name", help="Display name.")]
_Description = Annotated[str | None, typer.Option("--description")]
_Min = Annotated[
    str | None, typer.Option("--min", help="Lowest blended price, USD per million tokens (included).")
]
_Max = Annotated[
    str | None, typer.Option("--max", help="Highest blended price (excluded); `none`: open-ended.")
]
_Color = Annotated[str | None, typer.Option("--color", help="#rgb, #rrggbb or a color name.")]
_Icon = Annotated[str | None, typer.Option("--icon", help="Up to 8 characters, e.g. $$.")]
_FLAGS = {
    "display_name": "--name",
    "description": "--description",
    "price_range_min": "--min",
    "price_range_max": "--max",
    "color": "--color",
    "icon": "--icon",
}


def _fields(
    name: str | None,
    description: str | None,
    low: str | None,
    high: str | None,
    color: str | None,
    icon: str | None,
) -> dict[str, str | None]:
    given = {
        "display_name": name,
        "description": description,
        "price_range_min": low,
        "color": color,
        "icon": icon,
    }
    fields: dict[str, str | None] = {key: value for key, value in given.items() if value is not None}
    if high is not None:
        fields["price_range_max"] = None if high.strip().lower() in ("none", "") else high
    return fields


def _edit(state: CliState, action: str, run: Callable[[], TierEdit]) -> None:
    try:
        edit = run()
    except TierEditRefused as exc:
        message = str(exc)
        for field, flag in _FLAGS.items():
            message = message.replace(f"{field}: ", f"{flag}: ")
        state.err.print(f"costwarden: {message}", markup=False)
        raise typer.Exit(2 if exc.unknown else 1) from None
    if edit.tier is None:
        state.console.print(f"Removed tier {edit.tier_id!r}.", markup=False)
        return
    state.console.print(f"{action} tier {edit.tier_id!r}: {_describe(edit.tier)}.", markup=False)
    if edit.overridden_by is not None:
        state.err.print(
            f"Note: {edit.overridden_by} also defines tier {edit.tier_id!r}; the config file wins while it "
            "does.",
            markup=False,
        )


def _describe(tier: CostTierDefinition) -> str:
    return f"{tier.display_name}, {tier.describe_range()}"


@tiers_app.command("add")
def add(
    ctx: typer.Context,
    tier_id: Annotated[str, typer.Argument(help="The new tier's id (a-z, 0-9, -, _).")],
    low: _Min = None,
    high: _Max = None,
    name: _Name = None,
    description: _Description = None,
    color: _Color = None,
    icon: _Icon = None,
) -> None:
    """Add a tier stored in the database: `tiers add free --min 0 --max 0.01` (or bring back a built-in
    tier removed here)."""
    state = state_of(ctx)
    fields = _fields(name, description, low, high, color, icon)
    _edit(state, "Added", lambda: add_tier(state.settings, state.warden.backend.tiers, tier_id, fields))


@tiers_app.command("set")
def set_(
    ctx: typer.Context,
    tier_id: Annotated[str, typer.Argument(help="The tier's id (see `tiers list`).")],
    low: _Min = None,
    high: _Max = None,
    name: _Name = None,
    description: _Description = None,
    color: _Color = None,
    icon: _Icon = None,
) -> None:
    """Change the fields given of a tier: `tiers set high --max none`."""
    state = state_of(ctx)
    fields = _fields(name, description, low, high, color, icon)
    _edit(state, "Changed", lambda: set_tier(state.settings, state.warden.backend.tiers, tier_id, fields))


@tiers_app.command("remove")
def remove(
    ctx: typer.Context,
    tier_id: Annotated[str, typer.Argument(help="The tier's id (see `tiers list`).")],
) -> None:
    """Remove a tier added here, or a built-in tier (the config's own tiers are removed in the file)."""
    state = state_of(ctx)
    _edit(state, "Removed", lambda: remove_tier(state.settings, state.warden.backend.tiers, tier_id))


def register(app: typer.Typer) -> None:
    app.add_typer(tiers_app, name="tiers")
