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
    aggregator_for,
    choose_format,
    echo_json,
    parse_where,
    period_options,
)
from costwarden.cli.state import state_of
from costwarden.ledger.base import EventQuery
from costwarden.reports.charts import bar, series
from costwarden.reports.formats import money, period_json, rows_csv, totals_json
from costwarden.reports.text import print_wide, tokens, usd

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
    period = period_flags.resolve(state.settings.tz, default="last-30-days", at=state.clock.now())
    aggregator = aggregator_for(state)
    query = EventQuery(
        start=period.start, end=period.end, where=parse_where(where, state.warden.pricebook.canonical)
    )
    by = ("month",) if interval is Interval.MONTH else ("day",)  # old months may be kept only as months
    rows = series(aggregator.totals(query, by), period, interval.value)
    if chosen is Format.CSV:
        typer.echo(rows_csv(rows, (interval.value,)), nl=False)
        return
    total = sum((r.cost for r in rows), start=aggregator.total(query).cost * 0)
    if chosen is Format.JSON:
        echo_json(
            {
                "schema": "costwarden.trends/1",
                "period": period_json(period),
                "interval": interval.value,
                "total_cost": money(total),
                "rows": [{interval.value: r.key[0], **totals_json(r)} for r in rows],
            }
        )
        return
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
    days = max(1, len(rows))
    state.console.print(f"Total {usd(total)} · average {usd(total / days)} per {interval.value}")


def register(app: typer.Typer) -> None:
    app.command("trends")(trends)
