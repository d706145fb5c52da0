"""`costwarden insights`: savings suggestions with their evidence; dismiss one and it stays dismissed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from costwarden.cli.reporting import (
    NO_PERIOD,
    Format,
    PeriodFlags,
    TableJson,
    choose_format,
    echo_json,
    period_options,
)
from costwarden.cli.state import state_of
from costwarden.render.text import usd
from costwarden.reports.insights import Insight
from costwarden.views.insights import InsightsQuery, change_dismissals, insights_view

__all__ = ["register", "insights", "insight_renderable"]


def insight_renderable(insight: Insight) -> RenderableType:
    lines: list[RenderableType] = [
        Text(f"* {insight.title}", style="bold"),
        Text(f"  Consider: {insight.suggestion}"),
        Text(f"  Estimated savings: {usd(insight.monthly_saving)}/month"),
    ]
    evidence = ", ".join(
        f"{k.replace('_', ' ')} {f'{v:,}' if isinstance(v, int) else v}"
        for k, v in insight.evidence.items()
        if v is not None
    )
    lines.append(Text(f"  Evidence: {evidence}", style="dim"))
    lines.append(
        Text(
            f"  [dismiss: costwarden insights --dismiss {insight.id}]"
            + ("  (dismissed)" if insight.dismissed else "")
        )
    )
    return Group(*lines)


@period_options(skip=("today", "yesterday"))
def insights(
    ctx: typer.Context,
    dismiss: Annotated[
        list[str] | None, typer.Option("--dismiss", help="Dismiss an insight by id (remembered).")
    ] = None,
    restore: Annotated[
        list[str] | None, typer.Option("--restore", help="Show a dismissed insight again.")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include dismissed insights.")] = False,
    period_flags: PeriodFlags = NO_PERIOD,
    fmt: Annotated[TableJson | None, typer.Option("--format", help="table (default) or json.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Where money could be saved (default: from the last 30 days), biggest saving first."""
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json, (Format.TABLE, Format.JSON))
    query = InsightsQuery(period=period_flags, show_all=show_all)
    result = insights_view(state.warden, query)
    if dismiss or restore:
        for change in change_dismissals(state.warden, result, dismiss or (), restore or ()):
            item = change.insight_id
            if change.dismissed:
                said = f"Dismissed {item}." if change.changed else f"{item} was already dismissed."
            else:
                said = f"Restored {item}." if change.changed else f"{item} was not dismissed."
            state.err.print(said, markup=False)
        if chosen is not Format.JSON and not show_all:
            return
        result = insights_view(state.warden, query)
    if chosen is Format.JSON:
        echo_json(result.to_json())
        return
    period, found, shown = result.period, result.found, result.shown
    console = state.console
    if not shown:
        console.print(
            f"No suggestions for {period.label}."
            + (" (Some are dismissed: --all shows them.)" if found else "")
        )
        return
    console.print(Text(f"Optimization suggestions - {period.label}", style="bold"))
    for insight in shown:
        console.print("")
        console.print(insight_renderable(insight))
    console.print("")
    console.print(
        f"Estimated total: {usd(result.monthly_saving)}/month. Estimates assume the same token mix; "
        "verify before switching."
    )


def register(app: typer.Typer) -> None:
    app.command("insights")(insights)
