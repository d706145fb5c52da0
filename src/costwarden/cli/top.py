"""`costwarden top`: the most expensive sessions, projects, agents, models, runs or users."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
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
from costwarden.reports.formats import period_json, rows_csv, totals_json
from costwarden.reports.model import share
from costwarden.reports.text import print_wide, tokens, usd

__all__ = ["register", "top"]

_KINDS = {
    "sessions": ("session",),
    "projects": ("project",),
    "agents": ("agent",),
    "models": ("provider", "model"),
    "runs": ("run",),
    "users": ("user",),
}


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
    kind = picked[0] if picked else "sessions"
    keys = _KINDS[kind]
    period = period_flags.resolve(state.settings.tz, at=state.clock.now())
    aggregator = aggregator_for(state)
    query = EventQuery(
        start=period.start, end=period.end, where=parse_where(where, state.warden.pricebook.canonical)
    )
    whole = aggregator.total(query)
    ranked = [row for row in aggregator.totals(query, keys) if any(v is not None for v in row.key)][:limit]
    projects_of: dict[str, str | None] = {}
    if kind in ("sessions", "runs", "agents") and (show_details or chosen is not Format.CSV):
        for row in aggregator.totals(query, (keys[0], "project")):
            if row.key[0] is not None and row.key[0] not in projects_of:
                projects_of[row.key[0]] = row.key[1]  # rows come most expensive first
    if chosen is Format.CSV:
        typer.echo(rows_csv(ranked, keys), nl=False)
        return
    if chosen is Format.JSON:
        items: list[dict[str, Any]] = []
        for rank, row in enumerate(ranked, 1):
            item: dict[str, Any] = {"rank": rank, "key": dict(zip(keys, row.key, strict=True))}
            if projects_of:
                item["project"] = projects_of.get(str(row.key[0]))
            item.update(totals_json(row))
            item["share_percent"] = str(share(row.cost, whole.cost))
            items.append(item)
        echo_json({"schema": "costwarden.top/1", "period": period_json(period), "by": kind, "rows": items})
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
    if projects_of:
        table.add_column("project")
    if show_details:
        for name in ("input", "cache read", "output", "failed", "unpriced"):
            table.add_column(name, justify="right")
    for rank, row in enumerate(ranked, 1):
        name = " / ".join(v or "(none)" for v in reversed(row.key)) if kind == "models" else str(row.key[0])
        cells = [
            f"{rank}.",
            name,
            usd(row.cost),
            f"{share(row.cost, whole.cost)}%",
            tokens(row.total_tokens),
            f"{row.events:,}",
        ]
        if projects_of:
            cells.append(projects_of.get(str(row.key[0])) or "-")
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


def register(app: typer.Typer) -> None:
    app.command("top")(top)
