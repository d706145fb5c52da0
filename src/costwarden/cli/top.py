"""`costwarden top`: the most expensive sessions, projects, agents, models, runs or users."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
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
from costwarden.views.top import TopQuery
from costwarden.views.top import top as view_top

__all__ = ["register", "top"]


@period_options()
def top(
    ctx: typer.Context,
    sessions: Annotated[bool, typer.Option("--sessions", help="Rank sessions (the default).")] = False,
    projects: Annotated[bool, typer.Option("--projects", help="Rank projects.")] = False,
    agents: Annotated[bool, typer.Option("--agents", help="Rank agents.")] = False,
    models: Annotated[bool, typer.Option("--models", help="Rank models.")] = False,
    runs: Annotated[bool, typer.Option("--runs", help="Rank agent runs.")] = False,
    users: Annotated[bool, typer.Option("--users", help="Rank users.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many to show.")] = 10,
    show_details: Annotated[
        bool, typer.Option("--show-details", help="Token slices, failed and unpriced calls, and the project.")
    ] = False,
    period_flags: PeriodFlags = NO_PERIOD,
    where: WhereOpt = None,
    fmt: Annotated[
        TableJsonCsv | None, typer.Option("--format", help="table (default), json or csv.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """The biggest spenders of a period (default: this month), most expensive first."""
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json, (Format.TABLE, Format.JSON, Format.CSV))
    picked = [
        name
        for name, flag in (
            ("sessions", sessions),
            ("projects", projects),
            ("agents", agents),
            ("models", models),
            ("runs", runs),
            ("users", users),
        )
        if flag
    ]
    if len(picked) > 1:
        raise typer.BadParameter("choose one of --sessions, --projects, --agents, --models, --runs, --users")
    result = view_top(
        state.warden,
        TopQuery(
            kind=picked[0] if picked else "sessions",
            limit=limit,
            period=period_flags,
            where=parse_where(where),
            projects=show_details or chosen is not Format.CSV,
        ),
    )
    kind, period, ranked = result.kind, result.period, result.rows
    if chosen is Format.CSV:
        typer.echo(result.to_csv(), nl=False)
        return
    if chosen is Format.JSON:
        echo_json(result.to_json())
        return
    table = Table(
        title=f"Top {kind} - {period.label}",
        box=None,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold",
        title_justify="left",
        title_style="bold",
    )
    for name, justify in (
        ("#", "right"),
        (kind[:-1], "left"),
        ("cost", "right"),
        ("share", "right"),
        ("tokens", "right"),
        ("calls", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    if result.projects:
        table.add_column("project")
    if kind == "agents":
        for name in ("runs", "avg tokens/run", "cost/run"):
            table.add_column(name, justify="right")
    if show_details:
        for name in ("input", "cache read", "output", "failed", "unpriced"):
            table.add_column(name, justify="right")
    for rank, row in enumerate(ranked, 1):
        name = " / ".join(v or "(none)" for v in reversed(row.key)) if kind == "models" else str(row.key[0])
        cells = [
            f"{rank}.",
            name,
            usd(row.cost),
            f"{result.share(row)}%",
            tokens(row.total_tokens),
            f"{row.events:,}",
        ]
        if result.projects:
            cells.append(result.project_of(row) or "-")
        if kind == "agents":
            per_run = result.runs.get(row.key[0])
            cells += (
                ["-", "-", "-"]
                if per_run is None or not per_run.runs
                else [
                    f"{per_run.runs:,}",
                    tokens(int(per_run.average_tokens_per_run)),
                    usd(per_run.cost_per_run),
                ]
            )
        if show_details:
            cells += [
                f"{row.input_tokens:,}",
                f"{row.cache_read_tokens:,}",
                f"{row.output_tokens:,}",
                f"{row.error_events:,}",
                f"{row.unpriced_events:,}",
            ]
        table.add_row(*(escape(c) for c in cells))
    if not ranked:
        state.console.print(f"No {kind} with spend in {period.label}.")
        return
    print_wide(state.console, table)
    if result.basis is not None:
        state.console.print(result.basis.line(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("top")(top)
