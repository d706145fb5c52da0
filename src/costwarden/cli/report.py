"""`costwarden report`: what was spent, on what, and how it stands against the budgets."""

from __future__ import annotations

from typing import Annotated

import typer

from costwarden.cli.reporting import (
    NO_PERIOD,
    Format,
    PeriodFlags,
    WhereOpt,
    aggregator_for,
    choose_format,
    echo_json,
    parse_where,
    period_options,
)
from costwarden.cli.state import CliState, state_of
from costwarden.ledger.base import EventQuery
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.formats import CSV_DEFAULT_GROUPING, report_csv, report_json
from costwarden.reports.model import BudgetLine, build_report
from costwarden.reports.periods import Period
from costwarden.reports.text import print_wide, report_renderable, summary_text, usd

__all__ = ["register", "report", "budget_lines_for"]


def budget_lines_for(state: CliState, aggregator: Aggregator) -> list[BudgetLine]:
    """The budgets' current state: the budget engine's (as `costwarden budget status` shows it) when budgets
    are configured, else from the ledger; empty without budgets."""
    from costwarden.reports.budget_view import budget_lines, budget_states, engine_lines, policies_of

    moment = state.clock.now()
    lines = engine_lines(state.warden.budgets, aggregator, moment)
    if lines is not None:
        return lines
    policies = policies_of(state.settings, state.warden)
    if not policies:
        return []
    return budget_lines(budget_states(aggregator, policies, moment, state.settings.tz), moment)


def _session(state: CliState, session: str, fmt: Format, period: Period | None) -> None:
    from costwarden.reports.session import session_detail, session_json, session_renderable

    query = EventQuery(
        start=period.start if period else None, end=period.end if period else None, where={"session": session}
    )
    events = list(state.warden.ledger.events(query))
    if not events:
        kept = aggregator_for(state).total(EventQuery(where={"session": session}))
        if kept.events:
            state.err.print(
                f"Session {session!r}: its events are older than the detailed retention; only totals "
                f"are kept ({kept.events} calls, {usd(kept.cost)}; see `costwarden report --by session`).",
                markup=False,
            )
        else:
            state.err.print(f"No events for session {session!r}.", markup=False)
            raise typer.Exit(2)  # an unknown id: a usage error
        raise typer.Exit(1)
    detail = session_detail(session, events)
    if fmt is Format.JSON:
        echo_json(session_json(detail))
    elif fmt is Format.CSV:
        from costwarden.reports.formats import rows_csv

        typer.echo(rows_csv([detail.totals], ()), nl=False)
    else:
        print_wide(state.console, session_renderable(detail, state.settings.tz))


@period_options()
def report(
    ctx: typer.Context,
    period_flags: PeriodFlags = NO_PERIOD,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by project, agent, session, run, task, plan, user, provider, model, given_model "
            "(the raw model id), day, hour, month or tag:KEY; repeat for nested groups "
            "(--by project --by model).",
        ),
    ] = None,
    where: WhereOpt = None,
    fmt: Annotated[
        Format | None, typer.Option("--format", help="table (default), json, csv or summary.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    detailed: Annotated[
        bool,
        typer.Option(
            "--detailed", help="Token slices, errors and unpriced calls; by agent and provider too."
        ),
    ] = False,
    session: Annotated[str | None, typer.Option("--session", help="One session in detail.")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="How many top sessions to list.")] = 5,
) -> None:
    """Spend over a period (default: this month), grouped and compared with the budgets.

    Without --by the report shows a summary, cost by project and by model, budget status and the top
    sessions. Unpriced calls are counted at the configured fallback price and always shown.
    """
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json)
    tz = state.settings.tz
    if session is not None:
        period = period_flags.resolve(tz, at=state.clock.now()) if period_flags.given else None
        _session(state, session, chosen, period)
        return
    period = period_flags.resolve(tz, at=state.clock.now())
    try:
        keys = tuple(by or ())
        from costwarden.reports.aggregate import check_keys

        check_keys(keys)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--by") from None
    filters = parse_where(where, state.warden.pricebook.canonical)
    aggregator = aggregator_for(state)
    budgets = (
        budget_lines_for(state, aggregator) if chosen in (Format.TABLE, Format.JSON) and not filters else []
    )
    result = build_report(
        aggregator, period, group_by=keys, where=filters, top=top, budgets=budgets, now=state.clock.now()
    )
    if chosen is Format.JSON:
        echo_json(report_json(result))
    elif chosen is Format.CSV:
        extra = None
        if not keys:
            query = EventQuery(start=period.start, end=period.end, where=filters)
            extra = aggregator.totals(query, CSV_DEFAULT_GROUPING)
        typer.echo(report_csv(result, extra), nl=False)
    elif chosen is Format.SUMMARY:
        typer.echo(summary_text(result))
    else:
        sections = []
        if detailed and not keys:
            query = EventQuery(start=period.start, end=period.end, where=filters)
            sections = [
                ("BY AGENT", ("agent",), aggregator.totals(query, ("agent",))),
                ("BY PROVIDER", ("provider",), aggregator.totals(query, ("provider",))),
            ]
        print_wide(state.console, report_renderable(result, detailed, sections))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
