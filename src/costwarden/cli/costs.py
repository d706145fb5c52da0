"""`costwarden costs`: today's spend, this month's spend and each backend's, beside the budgets (seed 003's
`costs` command, one view instead of `report` plus `budget status`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from costwarden.cli.reporting import Format, TableJson, choose_format, echo_json
from costwarden.cli.state import state_of
from costwarden.core.units import spell
from costwarden.render.text import RULE, heading, print_wide, usd
from costwarden.views.costs import CostsResult, costs_view

__all__ = ["register", "costs", "costs_renderable"]


def costs_renderable(result: CostsResult) -> Group:
    """Today, this month, one line per backend with its budget, then every budget."""
    zone = result.month_period.timezone
    head = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    head.add_column(style="bold")
    head.add_column(justify="right")
    head.add_column()
    head.add_row(
        "Today:", usd(result.today.cost), f"{result.today.events:,} calls ({result.today_period.label})"
    )
    head.add_row(
        "This month:", usd(result.month.cost), f"{result.month.events:,} calls ({result.month_period.label})"
    )
    backends = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2), header_style="bold")
    for name, justify in (
        ("backend", "left"),
        ("today", "right"),
        ("month", "right"),
        ("budget", "right"),
        ("remaining", "right"),
    ):
        backends.add_column(name, justify=justify)  # type: ignore[arg-type]
    for backend in result.backends:
        budget = backend.budget
        if budget is None:
            limit, left = "-", "-"
        else:
            limit = f"{usd(budget.amount(budget.limit))}/{budget.policy.period.spelled}"
            share = max(Decimal(0), 100 - budget.percent)
            left = f"{usd(budget.amount(budget.remaining))} ({share}%)"
        backends.add_row(
            escape(backend.provider), usd(backend.today.cost), usd(backend.month.cost), limit, left
        )
    parts: list[RenderableType] = [
        heading(f"Costs - {result.at.astimezone(result.month_period.tz):%Y-%m-%d %H:%M} ({zone})"),
        Text(RULE),
        head,
        Text(""),
        heading("BY BACKEND"),
        backends if result.backends else Text("No backend has spent this month."),
    ]
    if result.budgets:
        table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2), header_style="bold")
        for name, justify in (
            ("budget", "left"),
            ("scope", "left"),
            ("period", "left"),
            ("limit", "right"),
            ("spent", "right"),
            ("remaining", "right"),
            ("state", "left"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in result.budgets:
            status = row.status
            unit = status.unit
            table.add_row(
                escape(status.policy.id),
                escape(status.scope or "global"),
                status.policy.period.spelled,
                spell(unit, status.amount(status.limit), short=True),
                f"{spell(unit, status.amount(status.spent), short=True)} ({status.percent}%)",
                spell(unit, status.amount(status.remaining), short=True),
                status.state,
            )
        parts += [Text(""), heading("BUDGETS"), table]
    return Group(*parts)


def costs(
    ctx: typer.Context,
    fmt: Annotated[TableJson | None, typer.Option("--format", help="table (default) or json.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Today's spend, this month's and each backend's, beside the budgets and what they have left."""
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json, (Format.TABLE, Format.JSON))
    result = costs_view(state.warden)
    if chosen is Format.JSON:
        echo_json(result.to_json())
        return
    print_wide(state.console, costs_renderable(result))
    state.console.print(result.basis.line(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("costs")(costs)
