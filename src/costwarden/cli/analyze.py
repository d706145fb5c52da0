"""`costwarden analyze`: when and on what the money goes (hour of day, day of week, model)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

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
    aggregator_for,
    choose_format,
    echo_json,
    parse_where,
    period_options,
)
from costwarden.cli.state import state_of
from costwarden.ledger.base import EventQuery, Totals
from costwarden.reports.charts import bar, by_hour_of_day, by_weekday
from costwarden.reports.formats import money, period_json, totals_json
from costwarden.reports.model import share
from costwarden.reports.text import print_wide, tokens, usd

__all__ = ["register", "analyze", "model_mix"]


def _ratio(part: int, whole: int) -> Decimal:
    return Decimal(0) if not whole else (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


def model_mix(row: Totals) -> dict[str, Any]:
    """Per-model figures beyond the sums: average cost per call, cache-read share of input, output share."""
    all_input = row.input_tokens + row.cache_read_tokens + row.cache_write_tokens + row.cache_write_1h_tokens
    return {
        "average_cost_per_call": money(
            (row.cost / row.events).quantize(Decimal("1E-10")) if row.events else Decimal(0)
        ),
        "cache_read_percent": str(_ratio(row.cache_read_tokens, all_input)),
        "output_percent": str(_ratio(row.output_tokens, row.total_tokens)),
        "error_percent": str(_ratio(row.error_events, row.events)),
    }


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
    if not (by_hour or by_day or by_model):
        by_hour = by_day = by_model = True
    period = period_flags.resolve(state.settings.tz, default="last-30-days", at=state.clock.now())
    aggregator = aggregator_for(state)
    query = EventQuery(
        start=period.start, end=period.end, where=parse_where(where, state.warden.pricebook.canonical)
    )
    whole = aggregator.total(query)
    hours = by_hour_of_day(aggregator.totals(query, ("hour",))) if by_hour else []
    days = by_weekday(aggregator.totals(query, ("day",))) if by_day else []
    models = aggregator.totals(query, ("provider", "model")) if by_model else []
    if chosen is Format.JSON:
        out: dict[str, Any] = {
            "schema": "costwarden.analyze/1",
            "period": period_json(period),
            "totals": totals_json(whole),
        }
        if by_hour:
            out["by_hour"] = [{"hour": r.key[0], **totals_json(r)} for r in hours]
        if by_day:
            out["by_day"] = [{"weekday": r.key[0], **totals_json(r)} for r in days]
        if by_model:
            out["by_model"] = [
                {"provider": r.key[0], "model": r.key[1], **totals_json(r), **model_mix(r)} for r in models
            ]
        echo_json(out)
        return
    parts: list[RenderableType] = [Text(f"Usage patterns - {period.label} ({period.timezone})", style="bold")]
    if by_hour:
        peak = max(hours, key=lambda r: r.cost)
        parts += [Text(""), _chart("By hour of day", "hour", hours, whole.cost, width)]
        if peak.cost:
            parts.append(Text(f"Peak hour: {peak.key[0]}:00 ({usd(peak.cost)})"))
    if by_day:
        peak = max(days, key=lambda r: r.cost)
        parts += [Text(""), _chart("By day of week", "day", days, whole.cost, width)]
        if peak.cost:
            parts.append(Text(f"Busiest day: {peak.key[0]} ({usd(peak.cost)})"))
    if by_model:
        parts += [Text(""), _models_table(models, whole.cost)]
    print_wide(state.console, Group(*parts))


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
