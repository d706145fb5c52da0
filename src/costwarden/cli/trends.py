"""`costwarden trends`: cost per day (or week, or month) as a terminal bar chart."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from costwarden.cli.reporting import (
    NO_PERIOD,
    Format,
    PeriodFlags,
    TableJsonCsv,
    WhereOpt,
    choose_format,
    echo_json,
    parse_where,
    period_options,
)
from costwarden.cli.state import state_of
from costwarden.render.text import print_wide, tokens, usd
from costwarden.reports.charts import bar
from costwarden.views.trends import TrendsQuery
from costwarden.views.trends import trends as view_trends

__all__ = ["register", "trends", "Interval"]


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@period_options()
def trends(
    ctx: typer.Context,
    interval: Annotated[
        Interval, typer.Option("--interval", help="One bar per day, week or month.")
    ] = Interval.DAY,
    period_flags: PeriodFlags = NO_PERIOD,
    where: WhereOpt = None,
    width: Annotated[int, typer.Option("--width", min=10, max=200, help="Width of the longest bar.")] = 40,
    fmt: Annotated[
        TableJsonCsv | None, typer.Option("--format", help="table (default), json or csv.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Cost over time (default: the last 30 days, one bar per local day)."""
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json, (Format.TABLE, Format.JSON, Format.CSV))
    result = view_trends(
        state.warden, TrendsQuery(interval=interval.value, period=period_flags, where=parse_where(where))
    )
    if chosen is Format.CSV:
        typer.echo(result.to_csv(), nl=False)
        return
    if chosen is Format.JSON:
        echo_json(result.to_json())
        return
    period, rows = result.period, result.rows
    if not rows:
        state.console.print(f"No spend in {period.label}.")
        return
    largest = max(r.cost for r in rows)
    table = Table(
        title=f"Cost per {interval.value} - {period.label}",
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_header=False,
    )
    table.add_column()
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    table.add_column(justify="right")
    for row in rows:
        table.add_row(
            str(row.key[0]), bar(row.cost, largest, width) or "·", usd(row.cost), tokens(row.total_tokens)
        )
    print_wide(state.console, table)
    state.console.print(f"Total {usd(result.total)} · average {usd(result.average)} per {interval.value}")
    if result.basis is not None:
        state.console.print(result.basis.line(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("trends")(trends)
