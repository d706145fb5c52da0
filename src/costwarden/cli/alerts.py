"""`costwarden alerts`: the feed of threshold crossings and exhaustions (blocks, terminated runs, queue
timeouts, fallbacks), newest first."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from costwarden.cli.reporting import usage_errors
from costwarden.cli.state import state_of
from costwarden.views.alerts import ALERT_KINDS, AlertsQuery, alerts_view

__all__ = ["register", "alerts"]


@usage_errors
def alerts(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many (newest first).")] = 50,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help=f"Only these kinds: {', '.join(ALERT_KINDS)}.")
    ] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="Only this budget id.")] = None,
    acknowledged: Annotated[
        bool | None,
        typer.Option(
            "--acknowledged/--unacknowledged",
            help="Only alerts acknowledged (`alert ack`), or only those not yet.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the alert feed: thresholds crossed (once per budget, period and threshold) and exhaustions."""
    state = state_of(ctx)
    query = AlertsQuery(limit=limit, kinds=tuple(kind or ()), budget=budget, acknowledged=acknowledged)
    result = alerts_view(state.warden, query)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    feed = result.alerts
    if not feed:
        state.console.print("No alerts.")
        return
    tz = state.settings.tz
    table = Table()
    for col in ("id", "when", "kind", "level", "budget", "scope", "message", "acknowledged"):
        table.add_column(col)
    for alert in feed:
        style = {"critical": "red", "warning": "yellow"}.get(alert.level)
        ack = alert.acknowledged
        table.add_row(
            str(alert.id),
            f"{alert.at.astimezone(tz):%Y-%m-%d %H:%M}",
            alert.kind,
            alert.level,
            alert.budget_id,
            alert.scope,
            alert.message,
            "" if ack is None else f"{ack.by}, {ack.at.astimezone(tz):%Y-%m-%d %H:%M}",
            style=None if ack is not None else style,
        )
    if not state.console.is_terminal:
        state.console.width = max(state.console.width, 200)  # pipes and files: no truncated cells
    state.console.print(table)


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts)
