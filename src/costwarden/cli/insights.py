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
    aggregator_for,
    choose_format,
    echo_json,
    period_options,
)
from costwarden.cli.state import state_of
from costwarden.ledger.insight_store import dismissals_of
from costwarden.reports.formats import period_json
from costwarden.reports.insights import Insight, find_insights, insight_json
from costwarden.reports.text import usd

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
    store = dismissals_of(state.warden.ledger)
    moment = state.clock.now()
    period = period_flags.resolve(state.settings.tz, default="last-30-days", at=moment)

    def find() -> list[Insight]:
        return find_insights(
            aggregator_for(state),
            state.warden.pricebook,
            state.warden.tiers,
            period,
            now=moment,
            dismissed=list(store.dismissed()),
        )

    found = find()
    if dismiss or restore:
        known = {i.id for i in found} | set(store.dismissed())
        for flag, items in (("--dismiss", dismiss), ("--restore", restore)):
            for item in items or []:
                if item not in known:
                    raise typer.BadParameter(
                        f"no insight {item!r} in {period.label} (`costwarden insights --all` lists the ids)",
                        param_hint=flag,
                    )
        for item in dismiss or []:
            changed = store.dismiss(item, at=moment)
            state.err.print(
                f"Dismissed {item}." if changed else f"{item} was already dismissed.", markup=False
            )
        for item in restore or []:
            changed = store.restore(item)
            state.err.print(f"Restored {item}." if changed else f"{item} was not dismissed.", markup=False)
        if chosen is not Format.JSON and not show_all:
            return
        found = find()
    shown = [i for i in found if show_all or not i.dismissed]
    if chosen is Format.JSON:
        echo_json(
            {
                "schema": "costwarden.insights/1",
                "period": period_json(period),
                "insights": [insight_json(i) for i in shown],
                "dismissed": sum(1 for i in found if i.dismissed),
            }
        )
        return
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
    total = sum((i.monthly_saving for i in shown if not i.dismissed), start=shown[0].monthly_saving * 0)
    console.print("")
    console.print(
        f"Estimated total: {usd(total)}/month. Estimates assume the same token mix; verify before switching."
    )


def register(app: typer.Typer) -> None:
    app.command("insights")(insights)
