"""`costwarden compare A B [...]`: projects (or agents, models, providers, users, tags) side by side."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

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
from costwarden.views.compare import CompareQuery, CompareResult
from costwarden.views.compare import compare as view_compare

__all__ = ["register", "compare", "compare_renderable"]


def _change(result: CompareResult, index: int) -> str:
    item = result.items[index]
    if result.previous_period is None:
        return "-"
    sign = "+" if item.change >= 0 else "-"
    amount = f"{sign}{usd(abs(item.change))}"
    return amount if item.change_percent is None else f"{amount} ({item.change_percent:+}%)"


def compare_renderable(result: CompareResult) -> Group:
    """The comparison as a table (one row per value), the period before, and the basis line."""
    table = Table(
        title=f"Compare by {result.by} - {result.period.label}",
        box=None,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold",
        title_justify="left",
        title_style="bold",
    )
    columns = (
        (result.by, "left"),
        ("cost", "right"),
        ("share", "right"),
        ("tokens", "right"),
        ("calls", "right"),
        ("sessions", "right"),
        ("avg/call", "right"),
        ("avg/session", "right"),
        ("top models", "left"),
        ("before", "right"),
        ("change", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for index, item in enumerate(result.items):
        models = ", ".join(f"{m.key[1]} {usd(m.cost)}" for m in item.top_models) or "-"
        cells = [
            item.value,
            usd(item.totals.cost),
            f"{result.share(item)}%",
            tokens(item.totals.total_tokens),
            f"{item.totals.events:,}",
            f"{item.sessions:,}",
            usd(item.average_per_call),
            usd(item.average_per_session) if item.sessions else "-",
            models,
            "-" if result.previous_period is None else usd(item.previous.cost),
            _change(result, index),
        ]
        table.add_row(*(escape(c) for c in cells))
    parts: list[Table | Text] = [table]
    if result.previous_period is not None:
        parts.append(Text(f"Before: {result.previous_period.label}."))
    spent = f"{usd(result.compared_cost)} of {usd(result.whole.cost)}"
    parts.append(Text(f"Compared: {spent} spent in {result.period.label}."))
    parts.append(Text(result.basis.line()))
    return Group(*parts)


@period_options()
def compare(
    ctx: typer.Context,
    values: Annotated[list[str], typer.Argument(help="Two or more values to compare (project names, ...).")],
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="What the values are: project (default), agent, model, provider, user, session, run, task, "
            "task_type, plan or tag:NAME.",
        ),
    ] = "project",
    period_flags: PeriodFlags = NO_PERIOD,
    where: WhereOpt = None,
    top_models: Annotated[
        int, typer.Option("--top-models", min=0, help="Most expensive models listed per value.")
    ] = 3,
    fmt: Annotated[
        TableJsonCsv | None, typer.Option("--format", help="table (default), json or csv.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Compare projects (or agents, models, ...) over a period (default: this month), with the change
    against the period before: `costwarden compare project-a project-b`."""
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json, (Format.TABLE, Format.JSON, Format.CSV))
    query = CompareQuery(
        values=tuple(values),
        by=by,
        period=period_flags,
        where=parse_where(where),
        top_models=top_models,
    )
    result = view_compare(state.warden, query)
    if chosen is Format.JSON:
        echo_json(result.to_json())
    elif chosen is Format.CSV:
        typer.echo(result.to_csv(), nl=False)
    else:
        print_wide(state.console, compare_renderable(result))


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
