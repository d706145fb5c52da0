"""`costwarden analyze`: when and on what the money goes (hour of day, day of week, model)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from costwarden.cli.reporting import (
    NO_PERIOD,
    Format,
    PeriodFlags,
    TableJson,
    WhereOpt,
    choose_format,
    echo_json,
    parse_where,
    period_options,
)
from costwarden.cli.state import state_of
from costwarden.render.text import print_wide, tokens, usd
from costwarden.reports.charts import bar
from costwarden.reports.model import share
from costwarden.storage.ledger import Totals
from costwarden.views.analyze import AnalyzeQuery, model_mix
from costwarden.views.analyze import analyze as view_analyze

__all__ = ["register", "analyze"]


def _chart(title: str, label: str, rows: list[Totals], whole: Decimal, width: int) -> Table:
    largest = max((r.cost for r in rows), default=Decimal(0))
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    table.add_column(label)
    table.add_column("", no_wrap=True)
    table.add_column("cost", justify="right")
    table.add_column("share", justify="right")
    table.add_column("calls", justify="right")
    for row in rows:
        table.add_row(
            str(row.key[0]),
            bar(row.cost, largest, width) or "·",
            usd(row.cost),
            f"{share(row.cost, whole)}%",
            f"{row.events:,}",
        )
    return table


def _models_table(rows: list[Totals], whole: Decimal) -> Table:
    table = Table(
        title="By model",
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold",
    )
    for name, justify in (
        ("model", "left"),
        ("cost", "right"),
        ("share", "right"),
        ("calls", "right"),
        ("tokens", "right"),
        ("avg/call", "right"),
        ("cache reads", "right"),
        ("output", "right"),
        ("failed", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        mix = model_mix(row)
        table.add_row(
            escape(f"{row.key[1]} ({row.key[0]})"),
            usd(row.cost),
            f"{share(row.cost, whole)}%",
            f"{row.events:,}",
            tokens(row.total_tokens),
            usd(Decimal(mix["average_cost_per_call"])),
            f"{mix['cache_read_percent']}%",
            f"{mix['output_percent']}%",
            f"{mix['error_percent']}%",
        )
    return table


@period_options()
def analyze(
    ctx: typer.Context,
    by_hour: Annotated[
        bool, typer.Option("--by-hour", help="Cost per hour of the day (peak hours).")
    ] = False,
    by_day: Annotated[bool, typer.Option("--by-day", help="Cost per day of the week.")] = False,
    by_model: Annotated[
        bool, typer.Option("--by-model", help="Model mix: cost, calls, cache reads, output.")
    ] = False,
    period_flags: PeriodFlags = NO_PERIOD,
    where: WhereOpt = None,
    width: Annotated[int, typer.Option("--width", min=10, max=200, help="Width of the longest bar.")] = 30,
    fmt: Annotated[TableJson | None, typer.Option("--format", help="table (default) or json.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Usage patterns over a period (default: the last 30 days); without a flag, all three views."""
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json, (Format.TABLE, Format.JSON))
    result = view_analyze(
        state.warden,
        AnalyzeQuery(
            by_hour=by_hour, by_day=by_day, by_model=by_model, period=period_flags, where=parse_where(where)
        ),
    )
    if chosen is Format.JSON:
        echo_json(result.to_json())
        return
    period, whole = result.period, result.totals
    parts: list[RenderableType] = [Text(f"Usage patterns - {period.label} ({period.timezone})", style="bold")]
    if result.hours is not None:
        hours = result.hours
        peak = max(hours, key=lambda r: r.cost)
        parts += [Text(""), _chart("By hour of day", "hour", hours, whole.cost, width)]
        if peak.cost:
            parts.append(Text(f"Peak hour: {peak.key[0]}:00 ({usd(peak.cost)})"))
    if result.days is not None:
        days = result.days
        peak = max(days, key=lambda r: r.cost)
        parts += [Text(""), _chart("By day of week", "day", days, whole.cost, width)]
        if peak.cost:
            parts.append(Text(f"Busiest day: {peak.key[0]} ({usd(peak.cost)})"))
    if result.models is not None:
        parts += [Text(""), _models_table(result.models, whole.cost)]
    print_wide(state.console, Group(*parts))
    if result.basis is not None:
        state.console.print(result.basis.line(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
