"""`costwarden report`: what was spent, on what, and how it stands against the budgets (and the subscription
plans, when configured)."""

from __future__ import annotations

from dataclasses import replace
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
    WhereOpt,
    choose_format,
    echo_json,
    parse_where,
    period_options,
)
from costwarden.cli.state import CliState, state_of
from costwarden.core.units import spell
from costwarden.render.text import (
    RULE,
    group_table,
    heading,
    print_wide,
    report_renderable,
    summary_text,
    usd,
)
from costwarden.reports.formats import money
from costwarden.views.plan import PlanQuery, PlanResult, plan_view
from costwarden.views.quota_status import QuotaQuery, QuotaStatusResult, quota_status_view
from costwarden.views.report import ReportQuery, summary_report
from costwarden.views.session import SessionQuery, SessionUnavailable, session_view

__all__ = ["register", "report", "plan_renderable"]


def _session(state: CliState, query: SessionQuery, fmt: Format) -> None:
    from costwarden.render.session import session_renderable

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
        if result.basis is not None:
            state.console.print(result.basis.line(), markup=False)


def plan_renderable(result: PlanResult) -> Group:
    """A plan in detail: its sums, by model and agent, and its budgets (seed 002's `plan status`)."""
    t = result.totals
    summary = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("Cost:", usd(t.cost))
    summary.add_row("Tokens:", f"{t.total_tokens:,} ({t.input_tokens:,} in, {t.output_tokens:,} out)")
    summary.add_row("Calls:", f"{t.events:,}")
    summary.add_row("Runs:", f"{result.runs:,}")
    if result.first_at is not None and result.last_at is not None:
        summary.add_row("Active:", f"{result.first_at:%Y-%m-%d %H}h to {result.last_at:%Y-%m-%d %H}h UTC")
    parts: list[RenderableType] = [
        heading(f"Plan {result.plan} - {result.period.label}"),
        Text(RULE),
        summary,
    ]
    if not t.events:
        parts.append(Text(f"No calls recorded for plan {result.plan!r} in this period."))
    if result.by_model:
        models = [replace(r, key=(f"{r.key[1]} ({r.key[0]})",)) for r in result.by_model]
        parts += [Text(""), heading("BY MODEL"), group_table(models, ("model",), t.cost)]
    if result.by_agent and any(r.key[0] is not None for r in result.by_agent):
        parts += [Text(""), heading("BY AGENT"), group_table(result.by_agent, ("agent",), t.cost)]
    budgets = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2), header_style="bold")
    for name, justify in (
        ("budget", "left"),
        ("period", "left"),
        ("limit", "right"),
        ("spent", "right"),
        ("remaining", "right"),
        ("state", "left"),
    ):
        budgets.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in result.budgets:
        status = row.status
        unit = status.unit
        budgets.add_row(
            escape(status.policy.id),
            status.policy.period.spelled,
            spell(unit, status.amount(status.limit), short=True),
            f"{spell(unit, status.amount(status.spent), short=True)} ({status.percent}%)",
            spell(unit, status.amount(status.remaining), short=True),
            status.state,
        )
    parts += [Text(""), heading("BUDGETS")]
    parts.append(budgets if result.budgets else Text("No budget applies to this plan."))
    return Group(*parts)


def _plan(state: CliState, query: PlanQuery, fmt: Format) -> None:
    result = plan_view(state.warden, query)
    if fmt is Format.JSON:
        echo_json(result.to_json())
    elif fmt in (Format.CSV, Format.SUMMARY):
        raise typer.BadParameter("--plan prints a table or JSON", param_hint="--format")
    else:
        print_wide(state.console, plan_renderable(result))
        state.console.print(result.basis.line(), markup=False)


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
    plan: Annotated[
        str | None,
        typer.Option(
            "--plan", help="One plan: its cost, tokens, runs and its budgets' remaining (all time)."
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="How many top sessions to list.")] = 5,
) -> None:
    """Spend over a period (default: this month), grouped and compared with the budgets.

    Without --by the report shows a summary, cost by project and by model, budget status and the top
    sessions. Unpriced calls are counted at the configured fallback price and always shown.
    """
    state = state_of(ctx)
    chosen = choose_format(fmt, as_json)
    if session is not None and plan is not None:
        raise typer.BadParameter("--session and --plan cannot be combined", param_hint="--plan")
    if session is not None:
        _session(state, SessionQuery(session, period_flags), chosen)
        return
    if plan is not None:
        _plan(state, PlanQuery(plan, period_flags), chosen)
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
        agents = result.report.groups if result.report.group_by == ("agent",) else result.by_agent
        runs = [result.agent_runs[r.key[0]] for r in agents if r.key[0] in result.agent_runs]
        runs = [line for line in runs if line.runs]
        print_wide(state.console, report_renderable(result.report, detailed, sections, runs))
        if state.settings.subscriptions:
            for line in subscription_lines(quota_status_view(state.warden, QuotaQuery())):
                state.console.print(line, markup=False)
        if result.basis is not None:
            state.console.print(result.basis.line(), markup=False)


def subscription_lines(result: QuotaStatusResult) -> list[str]:
    """`Subscriptions (flat, apart from the metered cost above):` and one line per plan: its price, its
    windows' use and its billing period's value at API prices (the figures of `quota report`)."""
    if not result.plans:
        return []
    lines = ["Subscriptions (flat, apart from the metered cost above):"]
    for plan in result.plans:
        config = plan.plan
        parts = [config.label]
        if config.price_usd is not None:
            per = {"daily": "day", "weekly": "week", "monthly": "month"}.get(config.billing.kind)
            parts.append(f"${money(config.price_usd)}" + (f" per {per}" if per else ""))
        windows = ", ".join(
            f"{w.window.name} {w.percent.normalize():f}%" for w in plan.windows if w.percent is not None
        )
        if windows:
            parts.append(windows)
        parts.append(f"${money(plan.value_usd)} at API prices this billing period")
        lines.append("  " + " · ".join(parts))
    return lines


def register(app: typer.Typer) -> None:
    app.command("report")(report)
