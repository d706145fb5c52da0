"""`costwarden forecast`: where the recent burn rate takes this month and every budget by its reset."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from costwarden.cli.reporting import (
    Format,
    TableJson,
    WhereOpt,
    aggregator_for,
    choose_format,
    echo_json,
    parse_where,
)
from costwarden.cli.state import state_of
from costwarden.core.units import Unit, spell
from costwarden.ledger.base import EventQuery
from costwarden.reports.budget_view import BudgetState, budget_states, first_seen, policies_of
from costwarden.reports.forecast import Outlook, Projection, days_between, project, rate_window
from costwarden.reports.formats import money, period_json, unit_json
from costwarden.reports.periods import local_midnight, named_period, next_month_start, utc_iso
from costwarden.reports.text import print_wide, usd

__all__ = ["register", "forecast", "projection_json"]


def projection_json(p: Projection, unit: Unit = Unit.USD) -> dict[str, Any]:
    """A projection with its quantities in `unit` (money as decimal strings, counts as integers)."""

    def q(value: Decimal) -> str | int:
        return unit_json(unit, value)

    return {
        "unit": unit.value,
        "spent": q(p.spent),
        "rate_per_day": q(p.rate_per_day),
        "window_days": str(p.window_days),
        "days_left": str(p.days_left),
        "resets_at": utc_iso(p.period_end) if p.period_end else None,
        "projected": q(p.projected),
        "limit": q(p.limit) if p.limit is not None else None,
        "remaining": q(p.remaining) if p.remaining is not None else None,
        "outlook": p.outlook.value,
        "overshoot": q(p.overshoot),
        "exhausted_at": utc_iso(p.exhausted_at) if p.exhausted_at else None,
        "reduce_by_percent": str(p.reduce_by_percent),
    }


_Line = tuple[BudgetState, str, Projection]


def _budget_projections(states: list[BudgetState]) -> list[_Line]:
    """Each resetting budget's limits (USD, tokens, requests), each with its projection."""
    out: list[_Line] = []
    for s in states:
        for dimension in ("cost", "tokens", "requests"):
            if s.limits.of(dimension) is None:
                continue
            p = s.projection(dimension)
            if p is not None:
                out.append((s, dimension, p))
    return out


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


def _budget_table(lines: list[_Line]) -> Table:
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
    for s, dimension, p in lines:
        unit = s.unit(dimension)
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
    tz = state.settings.tz
    moment = state.clock.now()
    aggregator = aggregator_for(state)
    filters = parse_where(where, state.warden.pricebook.canonical)
    month = named_period("this-month", moment, tz)
    spent = aggregator.total(EventQuery(start=month.start, end=min(month.end, moment), where=filters)).cost
    r_start, r_end = rate_window(moment, window_days, first_seen(aggregator))
    recent = aggregator.total(EventQuery(start=r_start, end=r_end, where=filters)).cost
    month_projection = project(
        spent=spent, recent_cost=recent, window_start=r_start, now=moment, period_end=month.end
    )
    states = (
        []
        if filters
        else _budget_projections(
            budget_states(
                aggregator, policies_of(state.settings, state.warden), moment, tz, window_days=window_days
            )
        )
    )
    next_total: Decimal | None = None
    next_days = Decimal(0)
    if next_month:
        following = next_month_start(month.start.astimezone(tz).date())
        next_days = days_between(
            local_midnight(following, tz), local_midnight(next_month_start(following), tz)
        )
        next_total = (month_projection.rate_per_day * next_days).quantize(Decimal("1E-10"))
    if chosen is Format.JSON:
        out: dict[str, Any] = {
            "schema": "costwarden.forecast/2",
            "now": utc_iso(moment),
            "window": {
                "start": utc_iso(r_start),
                "end": utc_iso(r_end),
                "days": str(month_projection.window_days),
            },
            "month": {"period": period_json(month), **projection_json(month_projection)},
            "budgets": [
                {
                    "id": s.policy.id,
                    "name": s.label,
                    "period": s.policy.period.label,
                    **projection_json(p, s.unit(dimension)),
                }
                for s, dimension, p in states
            ],
        }
        if next_total is not None:
            out["next_month"] = {
                "days": str(next_days.quantize(Decimal("0.01"))),
                "projected": money(next_total),
            }
        echo_json(out)
        return
    p = month_projection
    lines = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    lines.add_column(style="bold")
    lines.add_column(justify="right")
    lines.add_row(f"{month.label} so far:", usd(p.spent))
    lines.add_row(f"Rate (last {p.window_days} days):", f"{usd(p.rate_per_day)}/day")
    lines.add_row("Days left:", str(p.days_left))
    lines.add_row("Projected month total:", usd(p.projected))
    if next_total is not None:
        lines.add_row("Next month at this rate:", usd(next_total))
    parts: list[RenderableType] = [Text("Forecast", style="bold"), lines]
    if states:
        parts += [Text(""), _budget_table(states)]
    elif not filters:
        parts += [Text(""), Text("No budgets with a resetting period are configured.")]
    print_wide(state.console, Group(*parts))


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
