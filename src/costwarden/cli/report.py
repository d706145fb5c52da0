"""`costwarden report`: what was spent, on what, and how it stands against the budgets."""

from __future__ import annotations

from typing import Annotated

import typer

from costwarden.cli.reporting import (
    NO_PERIOD,
    Format,
    PeriodFlags,
    WhereOpt,
    choose_format,
    echo_json,
    parse_where,
    period_options,
)
from costwarden.cli.state import CliState, state_of
from costwarden.reports.text import print_wide, report_renderable, summary_text, usd
from costwarden.views.report import ReportQuery, summary_report
from costwarden.views.session import SessionQuery, SessionUnavailable, session_view

__all__ = ["register", "report"]


def _session(state: CliState, query: SessionQuery, fmt: Format) -> None:
    from costwarden.reports.session import session_renderable

    try:
        result = session_view(state.warden, query)
    except SessionUnavailable as gone:
        if gone.summarized:
            state.err.print(
                f"Session {query.session!r}: its events are older than the detailed retention; only totals "
                f"are kept ({gone.kept.events} calls, {usd(gone.kept.cost)}; see `costwarden report --by "
                "session`).",
                markup=False,
            )
            raise typer.Exit(1) from None
        state.err.print(f"No events for session {query.session!r}.", markup=False)
        raise typer.Exit(2) from None  # an unknown id: a usage error
    if fmt is Format.JSON:
        echo_json(result.to_json())
    elif fmt is Format.CSV:
        typer.echo(result.to_csv(), nl=False)
    else:
        print_wide(state.console, session_renderable(result.detail, state.settings.tz))


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
    by_project: Annotated[bool, typer.Option("--by-project", help="Same as --by project.")] = False,
    by_session: Annotated[bool, typer.Option("--by-session", help="Same as --by session.")] = False,
    by_model: Annotated[bool, typer.Option("--by-model", help="Same as --by model.")] = False,
    by_agent: Annotated[
        bool, typer.Option("--by-agent", help="Same as --by agent (with runs, tokens and cost per run).")
    ] = False,
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
    if session is not None:
        _session(state, SessionQuery(session, period_flags), chosen)
        return
    spelled = [
        name
        for name, flag in (
            ("project", by_project),
            ("session", by_session),
            ("model", by_model),
            ("agent", by_agent),
        )
        if flag
    ]
    query = ReportQuery(
        period=period_flags,
        group_by=(*(by or ()), *spelled),
        where=parse_where(where),
        top=top,
        budgets=chosen in (Format.TABLE, Format.JSON),
        detailed=detailed and chosen is Format.TABLE,
        breakdown=chosen is Format.CSV,
    )
    result = summary_report(state.warden, query)
    if chosen is Format.JSON:
        echo_json(result.to_json())
    elif chosen is Format.CSV:
        typer.echo(result.to_csv(), nl=False)
    elif chosen is Format.SUMMARY:
        typer.echo(summary_text(result.report))
        if result.basis is not None:
            typer.echo(result.basis.line())
    else:
        sections = []
        if query.detailed and not result.report.group_by:
            sections = [
                ("BY AGENT", ("agent",), result.by_agent),
                ("BY PROVIDER", ("provider",), result.by_provider),
            ]
        print_wide(state.console, report_renderable(result.report, detailed, sections))
        if result.basis is not None:
            state.console.print(result.basis.line(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
