"""`costwarden budget`: set, list, remove and inspect budgets; rebuild their counters from the ledger.

Budgets set here are stored in the database next to the events and apply to every process using it
(re-read within seconds). A budget in the config file with the same id wins; the commands say so.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from costwarden.budgets import BudgetEngine, SavedBudget
from costwarden.cli.options import parse_when
from costwarden.cli.state import CliState, state_of
from costwarden.core.admission import format_reset, human_amount
from costwarden.core.calls import CallRequest
from costwarden.core.limits import MAX_BUDGET_COUNT, MAX_TOKENS
from costwarden.core.money import format_usd, parse_money
from costwarden.core.policy import BudgetConfig, compile_policy
from costwarden.core.units import spell
from costwarden.core.usage import Attribution
from costwarden.errors import CostwardenError
from costwarden.views.budget_list import derived_id, filters_label, policy_row
from costwarden.views.budget_status import budget_status_view, engine_of

__all__ = ["register", "budget_app", "derived_id", "filters_label"]

budget_app = typer.Typer(help="Budgets: set, list, remove, status, rebuild.", no_args_is_help=True)

_PERIOD_FLAGS = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month", "total": "total"}
_SCOPE_FLAGS = ("project", "agent", "session", "user", "provider", "model")


def _engine(state: CliState) -> BudgetEngine:
    return engine_of(state.warden)


def _scope(values: dict[str, str | None], tags: list[str]) -> list[tuple[str, str]]:
    pairs = [(name, value) for name, value in values.items() if value]
    for item in tags:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--tag")
        pairs.append((f"tag:{name}", value))
    return pairs


def _period_and_amount(
    flags: dict[str, str | None], period: str | None, limit: str | None
) -> tuple[str, str | None]:
    given = [(name, value) for name, value in flags.items() if value is not None]
    if len(given) > 1:
        raise typer.BadParameter(
            "give one of --hourly, --daily, --weekly, --monthly, --total", param_hint="--daily"
        )
    if given:
        if period is not None:
            raise typer.BadParameter(
                "--period goes with --limit, not with --daily etc.", param_hint="--period"
            )
        name, amount = given[0]
        return _PERIOD_FLAGS[name], amount
    if period is None:
        raise typer.BadParameter("say which period: --daily 10, --monthly 200, or --period 'rolling: 5h'")
    return period, limit


@budget_app.command("set")
def set_budget(
    ctx: typer.Context,
    daily: Annotated[str | None, typer.Option("--daily", help="USD per day.")] = None,
    monthly: Annotated[str | None, typer.Option("--monthly", help="USD per month.")] = None,
    weekly: Annotated[str | None, typer.Option("--weekly", help="USD per week.")] = None,
    hourly: Annotated[str | None, typer.Option("--hourly", help="USD per hour.")] = None,
    total: Annotated[str | None, typer.Option("--total", help="USD in total (never resets).")] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Any period: run, day, 'rolling: 5h', ...")
    ] = None,
    limit: Annotated[str | None, typer.Option("--limit", help="USD for --period.")] = None,
    tokens: Annotated[
        int | None, typer.Option("--tokens", min=0, max=MAX_BUDGET_COUNT, help="Token limit per period.")
    ] = None,
    requests: Annotated[
        int | None, typer.Option("--requests", min=0, max=MAX_BUDGET_COUNT, help="Request limit per period.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project")] = None,
    agent: Annotated[str | None, typer.Option("--agent")] = None,
    session: Annotated[str | None, typer.Option("--session")] = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
    provider: Annotated[str | None, typer.Option("--provider")] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="NAME=VALUE, repeatable.")] = None,
    action: Annotated[str, typer.Option("--action", help="block, warn, queue or fallback.")] = "block",
    threshold: Annotated[
        list[str] | None, typer.Option("--threshold", help="Alert at this percent (repeatable).")
    ] = None,
    budget_id: Annotated[
        str | None, typer.Option("--id", help="Budget id (default: from scope and period).")
    ] = None,
) -> None:
    """Set (or replace) a budget stored in the database: `budget set --daily 10 --project web`."""
    state = state_of(ctx)
    flags = {"daily": daily, "monthly": monthly, "weekly": weekly, "hourly": hourly, "total": total}
    period_text, amount = _period_and_amount(flags, period, limit)
    scope = _scope(
        dict(zip(_SCOPE_FLAGS, (project, agent, session, user, provider, model), strict=True)),
        tag or [],
    )
    definition: dict[str, Any] = {"period": period_text, "action": action}
    if amount is not None:
        try:
            definition["cost_usd"] = str(parse_money(amount.strip().removeprefix("$"), "amount"))
        except CostwardenError as exc:
            raise typer.BadParameter(str(exc).removeprefix("amount: ")) from None
    if tokens is not None:
        definition["tokens"] = tokens
    if requests is not None:
        definition["requests"] = requests
    if scope:
        definition["scope"], definition["value"] = scope[0]
        if len(scope) > 1:
            definition["where"] = {name: [value] for name, value in scope[1:]}
    if threshold:
        definition["thresholds"] = [t.strip() for t in threshold]
    identifier = budget_id or derived_id(period_text, scope)
    try:
        config = BudgetConfig.model_validate({"id": identifier, **definition})
    except ValueError as exc:
        raise typer.BadParameter(_first_error(exc)) from None
    engine = _engine(state)
    assert engine.records is not None
    engine.records.save_budget(SavedBudget(identifier, definition))
    state.console.print(f"Set budget {identifier!r}: {_describe(config)}.", markup=False)
    if identifier in {b.id for b in state.settings.budgets}:
        state.err.print(
            f"Note: {state.settings.source or 'the config file'} also defines budget {identifier!r}; "
            "the config file wins while it does.",
            markup=False,
        )


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)


def _describe(config: BudgetConfig) -> str:
    limits = []
    if config.cost_usd is not None:
        limits.append(format_usd(config.cost_usd))
    if config.tokens is not None:
        limits.append(f"{config.tokens:,} tokens")
    if config.requests is not None:
        limits.append(f"{config.requests:,} requests")
    scope = filters_label(compile_policy(config))
    return f"{' and '.join(limits)} per {config.period.label} ({scope}), {config.action.value} at the limit"


@budget_app.command("list")
def list_budgets(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Every budget in force: from the config file and set from the CLI."""
    state = state_of(ctx)
    engine = _engine(state)
    policies = engine.policies
    shadowed = set(engine.shadowed)
    rows = [policy_row(p, shadowed) for p in policies.policies]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        state.console.print("No budgets. Set one with: costwarden budget set --daily 10")
        return
    table = Table()
    for col in ("id", "from", "scope", "period", "limit", "action", "alerts at"):
        table.add_column(col)
    for row in rows:
        parts = [
            f"${row['cost_usd']}" if row["cost_usd"] else "",
            f"{row['tokens']:,} tokens" if row["tokens"] else "",
            f"{row['requests']:,} requests" if row["requests"] else "",
            f"{row['max_concurrent']} at once" if row["max_concurrent"] else "",
        ]
        origin = (
            "config" + (" (overrides the CLI)" if row["overrides_cli"] else "")
            if row["origin"] == "config"
            else "cli"
        )
        table.add_row(
            row["id"],
            origin,
            row["filters"],
            row["period"],
            ", ".join(p for p in parts if p),
            row["action"],
            " ".join(f"{t}%" for t in row["thresholds"]),
        )
    _print(state, table)


@budget_app.command("remove")
def remove_budget(
    ctx: typer.Context,
    budget_id: Annotated[str | None, typer.Argument(help="The budget's id (see `budget list`).")] = None,
    daily: Annotated[bool, typer.Option("--daily", help="The budget `set --daily` made.")] = False,
    monthly: Annotated[bool, typer.Option("--monthly")] = False,
    weekly: Annotated[bool, typer.Option("--weekly")] = False,
    project: Annotated[str | None, typer.Option("--project")] = None,
    agent: Annotated[str | None, typer.Option("--agent")] = None,
    provider: Annotated[str | None, typer.Option("--provider")] = None,
) -> None:
    """Remove a budget set from the CLI (by id, or as it was set: `remove --monthly --project web`)."""
    state = state_of(ctx)
    if budget_id is None:
        periods = [p for p, on in (("day", daily), ("month", monthly), ("week", weekly)) if on]
        if len(periods) != 1:
            raise typer.BadParameter("give the budget id, or one of --daily, --monthly, --weekly")
        scope = _scope({"project": project, "agent": agent, "provider": provider}, [])
        budget_id = derived_id(periods[0], scope)
    engine = _engine(state)
    assert engine.records is not None
    removed = engine.records.remove_budget(budget_id)
    in_config = budget_id in {b.id for b in state.settings.budgets}
    if removed:
        state.console.print(f"Removed budget {budget_id!r}.", markup=False)
        if in_config:
            state.err.print(
                f"Note: the config file still defines {budget_id!r}; it stays in force.", markup=False
            )
        return
    if in_config:
        state.err.print(
            f"costwarden: budget {budget_id!r} comes from {state.settings.source or 'the config file'}; "
            "remove it there",
            markup=False,
        )
    else:
        state.err.print(f"costwarden: no budget {budget_id!r} was set from the CLI", markup=False)
        raise typer.Exit(2)  # an unknown id: a usage error
    raise typer.Exit(1)


def _print(state: CliState, table: Table) -> None:
    """Tables at their natural width when the output is not a terminal (pipes, files, tests)."""
    if not state.console.is_terminal:
        state.console.width = max(state.console.width, 200)  # pipes and files: no truncated cells
    state.console.print(table)


@budget_app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="Evaluate at this time (ISO-8601; default now).")
    ] = None,
) -> None:
    """Limit, spent, reserved, remaining, percent, reset time and the projection to the period's end, each
    limit in its own unit (the projection is the recent rate's, as in `report`, `forecast` and `watch`)."""
    state = state_of(ctx)
    result = budget_status_view(state.warden, parse_when(at, "--at", state.settings.tz) if at else None)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    rows = result.rows
    if not rows:
        state.console.print("No budgets. Set one with: costwarden budget set --daily 10")
        return
    table = Table()
    for col in (
        "budget",
        "scope",
        "period",
        "limit",
        "spent",
        "reserved",
        "remaining",
        "used",
        "resets",
        "projected",
    ):
        table.add_column(
            col, justify="right" if col in ("limit", "spent", "reserved", "remaining", "used") else "left"
        )
    for line in rows:
        row, projection = line.status, line.projection
        style = {"exhausted": "bold red", "warning": "yellow"}.get(row.state)
        concurrency = row.policy.concurrency
        projected = ""
        if projection is not None:
            projected = spell(row.unit, projection.projected)
            if projection.projected > row.amount(row.limit):
                projected += " (over)"
        table.add_row(
            row.policy.id,
            row.scope,
            row.policy.period.label,
            human_amount(row.dimension, row.limit, concurrency),
            human_amount(row.dimension, row.spent, concurrency),
            human_amount(row.dimension, row.reserved, concurrency),
            human_amount(row.dimension, row.remaining, concurrency),
            f"{row.percent}%",
            format_reset(row.resets_at, state.settings.tz) if row.resets_at else "",
            projected,
            style=style,
        )
    _print(state, table)
    if result.shadowed:
        state.err.print(
            f"Note: the config file overrides budget(s) set from the CLI: {', '.join(result.shadowed)}",
            markup=False,
        )


@budget_app.command("check")
def check(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option("--provider", help="Provider of the call.")],
    model: Annotated[str, typer.Option("--model", help="Model of the call.")],
    input_tokens: Annotated[
        int, typer.Option("--input-tokens", min=0, max=MAX_TOKENS, help="Input tokens (estimate).")
    ] = 0,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=0, max=MAX_TOKENS, help="Output cap.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project")] = None,
    agent: Annotated[str | None, typer.Option("--agent")] = None,
    session: Annotated[str | None, typer.Option("--session")] = None,
    run: Annotated[str | None, typer.Option("--run")] = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
) -> None:
    """Would a call of this size be admitted now? Exit 0 if every budget has room, 1 if one refuses.
    Nothing is reserved (a shell-driven agent asks before it starts)."""
    state = state_of(ctx)
    engine = _engine(state)
    request = CallRequest(
        provider=provider,
        model=model,
        attribution=Attribution(project=project, agent=agent, session=session, run=run, user=user),
        input_tokens=input_tokens,
        max_tokens=max_tokens,
    )
    worst = state.warden.worst_case(request)
    verdicts = engine.check(request, worst)
    refused = [v for v in verdicts if v.shortfall is not None and v.enforce]
    state.console.print(f"Worst case of the call: {format_usd(worst, 6)}", markup=False)
    for verdict in verdicts:
        short = verdict.shortfall
        room = "no room" if short is not None else "room"
        left = f" ({human_amount(short.dimension, short.remaining)} left)" if short is not None else ""
        state.console.print(
            f"  {verdict.budget_id} ({verdict.scope}, {verdict.period}): {room}{left}", markup=False
        )
    if refused:
        state.err.print(f"costwarden: {refused[0].notice}", markup=False)
        raise typer.Exit(1)
    state.console.print("Admitted." if verdicts else "Admitted (no budget applies).", markup=False)


@budget_app.command("rebuild")
def rebuild(ctx: typer.Context) -> None:
    """Recompute every budget's counters from the ledger (the ledger is the truth); drop expired holds."""
    state = state_of(ctx)
    engine = _engine(state)
    reclaimed = engine.store.reclaim(engine.clock())
    written = engine.rebuild()
    count = len(engine.policies.policies)
    state.console.print(f"Rebuilt {written} counter(s) of {count} budget(s) from the ledger.", markup=False)
    if reclaimed:
        state.console.print(f"Reclaimed {reclaimed} expired reservation(s).", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(budget_app, name="budget")
