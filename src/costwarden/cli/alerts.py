"""`costwarden alerts`: the feed of threshold crossings and exhaustions (blocks, terminated runs, queue
timeouts, fallbacks), newest first."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from costwarden.budgets import AlertRecord, BudgetEngine
from costwarden.cli.state import state_of
from costwarden.core.units import unit_of
from costwarden.errors import ConfigError

__all__ = ["register", "alerts"]

_KINDS = ("threshold", "warn", "block", "terminate_run", "queue_timeout", "fallback")


def _json(alert: AlertRecord) -> dict[str, Any]:
    def when(at: Any) -> str | None:
        return at.isoformat().replace("+00:00", "Z") if at is not None else None

    return {
        "id": alert.id,
        "at": when(alert.at),
        "kind": alert.kind,
        "level": alert.level,
        "budget_id": alert.budget_id,
        "scope": alert.scope,
        "period": alert.period_key,
        "unit": alert.details.get("unit") or unit_of(alert.dimension).value,
        "threshold": alert.threshold,
        "resets_at": when(alert.resets_at),
        "message": alert.message,
        "details": dict(alert.details),
    }


def alerts(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many (newest first).")] = 50,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help=f"Only these kinds: {', '.join(_KINDS)}.")
    ] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="Only this budget id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the alert feed: thresholds crossed (once per budget, period and threshold) and exhaustions."""
    state = state_of(ctx)
    for item in kind or []:
        if item not in _KINDS:
            raise typer.BadParameter(
                f"unknown kind {item!r}; choose from {', '.join(_KINDS)}", param_hint="--kind"
            )
    engine = state.warden.budgets
    if not isinstance(engine, BudgetEngine) or engine.records is None:
        raise ConfigError("the alert feed needs a database ledger", key="database")
    feed = engine.records.alerts(limit=limit, kinds=kind or None, budget_id=budget)
    unknown = budget is not None and not feed and budget not in engine.policies.by_id
    if unknown and not engine.records.alerts(limit=1, budget_id=budget):
        raise typer.BadParameter(
            f"no budget {budget!r} (see `costwarden budget list`) and no alert of one", param_hint="--budget"
        )
    if as_json:
        typer.echo(json.dumps([_json(a) for a in feed], indent=2))
        return
    if not feed:
        state.console.print("No alerts.")
        return
    tz = state.settings.tz
    table = Table()
    for col in ("when", "kind", "level", "budget", "scope", "message"):
        table.add_column(col)
    for alert in feed:
        style = {"critical": "red", "warning": "yellow"}.get(alert.level)
        table.add_row(
            f"{alert.at.astimezone(tz):%Y-%m-%d %H:%M}",
            alert.kind,
            alert.level,
            alert.budget_id,
            alert.scope,
            alert.message,
            style=style,
        )
    if not state.console.is_terminal:
        state.console.width = max(state.console.width, 200)  # pipes and files: no truncated cells
    state.console.print(table)


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts)
