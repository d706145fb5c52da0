"""`costwarden forecast`: where the recent burn rate takes this month and every budget by its reset."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from costwarden.cli.reporting import (
    Format,
    TableJson,
    WhereOpt,
    choose_format,
    echo_json,
    parse_where,
    usage_errors,
)
from costwarden.cli.state import state_of
from costwarden.core.units import Unit, spell
from costwarden.render.text import print_wide, usd
from costwarden.reports.forecast import Outlook, Projection
from costwarden.views.forecast import BudgetProjection, ForecastQuery
from costwarden.views.forecast import forecast as view_forecast

__all__ = ["register", "forecast"]


def _outlook_text(p: Projection, unit: Unit) -> Text:
    if p.outlook is Outlook.EXCEEDED:
        return Text("limit reached", style="bold red")
    if p.outlook is Outlook.OVER:
        when = f", limit reached {p.exhausted_at:%Y-%m-%d %H:%M}" if p.exhausted_at else ""
        return Text(
            f"over by {spell(unit, p.overshoot, short=True)}{when} (cut the rate by {p.reduce_by_percent}%)",
            style="yellow",
        )
    if p.outlook is Outlook.WITHIN:
        return Text("within budget", style="green")
    return Text("-")


def _budget_table(lines: list[BudgetProjection]) -> Table:
    table = Table(
        title="Budgets",
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold",
    )
    for name, justify in (
        ("budget", "left"),
        ("period", "left"),
        ("limit", "right"),
        ("spent", "right"),
        ("rate/day", "right"),
        ("days left", "right"),
        ("projected", "right"),
        ("outlook", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for line in lines:
        s, p, unit = line.state, line.projection, line.unit
        table.add_row(
            escape(s.label),
            s.policy.period.label,
            spell(unit, p.limit, short=True) if p.limit is not None else "-",
            spell(unit, p.spent, short=True),
            spell(unit, p.rate_per_day, short=True),
            str(p.days_left),
            spell(unit, p.projected, short=True),
            _outlook_text(p, unit),
        )
    return table


@usage_errors
def forecast(
    ctx: typer.Context,
    window_days: Annotated[
        int,
        typer.Option(
            "--window-days", min=1, max=365, help="Days of recent spend the burn rate is measured over."
        ),
    ] = 7,
    next_month: Annotated[
        bool, typer.Option("--next-month", help="Also project next month at the same rate.")
    ] = False,
    where: WhereOpt = None,
    fmt: Annotated[TableJson | None, typer.Option("--format", help="table (default) or json.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Month-end projection and, per budget, the projected total at its next reset.

    The burn rate is the spend of the last --window-days (shorter when the history is), per day.
    """
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json, (Format.TABLE, Format.JSON))
    result = view_forecast(
        state.warden, ForecastQuery(window_days=window_days, next_month=next_month, where=parse_where(where))
    )
    if chosen is Format.JSON:
        echo_json(result.to_json())
        return
    p, month, states = result.projection, result.month, result.budgets
    lines = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    lines.add_column(style="bold")
    lines.add_column(justify="right")
    lines.add_row(f"{month.label} so far:", usd(p.spent))
    lines.add_row(f"Rate (last {p.window_days} days):", f"{usd(p.rate_per_day)}/day")
    lines.add_row("Days left:", str(p.days_left))
    lines.add_row("Projected month total:", usd(p.projected))
    if result.next_month is not None:
        lines.add_row("Next month at this rate:", usd(result.next_month.projected))
    parts: list[RenderableType] = [Text("Forecast", style="bold"), lines]
    if states:
        parts += [Text(""), _budget_table(states)]
    elif not result.filtered:
        parts += [Text(""), Text("No budgets with a resetting period are configured.")]
    print_wide(state.console, Group(*parts))
    if result.basis is not None:
        state.console.print(result.basis.line(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
