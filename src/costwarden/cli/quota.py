"""`costwarden quota`: subscription plans and quota windows: `report` (per plan and account, each window's
use, reset and pace, the value of the usage at API prices against the plan's price), `status` (one row per
window, `--json` for scripts)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text

from costwarden.budgets import AlertHub, BudgetEngine
from costwarden.cli.reporting import echo_json
from costwarden.cli.state import CliState, state_of
from costwarden.core.admission import format_reset
from costwarden.quotas.alerts import as_alert, utilization_findings
from costwarden.quotas.pollers import poll_all
from costwarden.quotas.usage import PlanUsage, WindowUsage
from costwarden.reports.formats import money
from costwarden.reports.periods import utc_iso
from costwarden.storage.quotas import QuotaReading
from costwarden.views.quota_status import QuotaQuery, QuotaStatusResult, quota_status_view, reading_json

__all__ = ["register", "quota_app"]

quota_app = typer.Typer(help="Subscriptions and quotas: report, status, poll, check.", no_args_is_help=True)

ProviderOption = Annotated[
    str | None, typer.Option("--provider", help="Only this provider's plans and windows.")
]
AccountOption = Annotated[str | None, typer.Option("--account", help="Only this account (with --provider).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (costwarden.quota_status/1).")]


def _result(state: CliState, provider: str | None, account: str | None) -> QuotaStatusResult:
    if account is not None and provider is None:
        raise typer.BadParameter("--account needs --provider", param_hint="--account")
    return quota_status_view(state.warden, QuotaQuery(provider=provider, account=account))


def _until(at: datetime, reset: datetime | None) -> str:
    if reset is None:
        return ""
    seconds = int((reset - at).total_seconds())
    if seconds <= 0:
        return "now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"in {days}d {hours}h"
    return f"in {hours}h {minutes}m" if hours else f"in {minutes}m"


def _amount(usage: WindowUsage, value: Decimal | None) -> str:
    if value is None:
        return "?"
    return f"${money(value)}" if usage.window.unit == "usd" else f"{int(value):,}"


def _used(usage: WindowUsage) -> str:
    unit = usage.window.unit
    percent = "" if usage.percent is None else f"{usage.percent.normalize():f}%"
    if usage.source == "unknown":
        return "no reading yet"
    if usage.used is None:
        return f"{percent} used"
    label = "" if unit in ("usd", "percent") else f" {unit}"
    limit = f" / {_amount(usage, usage.limit)}" if usage.limit is not None else ""
    return f"{_amount(usage, usage.used)}{limit}{label}" + (f" ({percent})" if percent else "")


def _reset_text(usage: WindowUsage, at: datetime, tz: ZoneInfo) -> str:
    if usage.reset_at is None:
        return "no reset" if usage.window.reset.kind == "never" else "rolling"
    return f"resets {format_reset(usage.reset_at, tz)} ({_until(at, usage.reset_at)})"


def _plan_lines(plan: PlanUsage, tz: ZoneInfo) -> list[Text]:
    config = plan.plan
    per = {"daily": "day", "weekly": "week", "monthly": "month"}.get(config.billing.kind)
    price = ""
    if config.price_usd is not None:
        price = f" — ${money(config.price_usd)}" + (f" per {per}" if per else "")
    lines = [Text(f"{config.label}{price}", style="bold")]
    for usage in plan.windows:
        parts = [_used(usage), _reset_text(usage, plan.at, tz)]
        if usage.projected_percent is not None:
            parts.append(f"projected {usage.projected_percent.normalize():f}% at reset")
        if usage.exhausted:
            parts.append("EXHAUSTED")
        style = "bold red" if usage.exhausted else ""
        lines.append(
            Text(f"  {usage.window.name} ({usage.window.reset.spelled}): " + " · ".join(parts), style=style)
        )
        if usage.by_project and usage.used:
            shares = ", ".join(
                f"{name}: {_amount(usage, amount)} ({(amount / usage.used * 100).quantize(Decimal(1))}%)"
                for name, amount in usage.by_project
            )
            lines.append(Text(f"    {shares}", style="dim"))
    since = "" if plan.billing_start is None else f" since {format_reset(plan.billing_start, tz)}"
    value = f"  Billing period{since}: ${money(plan.value_usd)} at API prices"
    if config.price_usd:
        ratio = (plan.value_usd / config.price_usd * 100).quantize(Decimal(1))
        value += f" = {ratio}% of the plan's ${money(config.price_usd)}"
    lines.append(Text(value + f" ({plan.requests:,} requests, {plan.tokens:,} tokens)"))
    return lines


@quota_app.command("report")
def report(
    ctx: typer.Context,
    provider: ProviderOption = None,
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Each plan and account: every window's use (used / limit or %), reset time and pace projected to the
    reset, the use per project, and the billing period's usage at API prices against the plan's price."""
    state = state_of(ctx)
    result = _result(state, provider, account)
    if as_json:
        echo_json(result.to_json())
        return
    tz = state.settings.tz
    if not result.plans and not result.readings:
        state.console.print(
            "No subscriptions configured and no quota readings yet. Add a plan under `subscriptions:` "
            "(see docs/quotas.md)."
        )
        return
    for plan in result.plans:
        for line in _plan_lines(plan, tz):
            state.console.print(line)
        state.console.print("")
    if result.readings:
        state.console.print(_readings_table(result, tz))


def _readings_table(result: QuotaStatusResult, tz: ZoneInfo) -> Table:
    table = Table(title="Reported windows (newest reading each)")
    for col in ("provider", "account", "window", "used", "remaining", "limit", "resets", "seen", "source"):
        table.add_column(col, justify="right" if col in ("used", "remaining", "limit") else "left")
    for reading in result.readings:
        fraction = reading.used_fraction
        table.add_row(
            reading.provider,
            reading.account,
            reading.window,
            "" if fraction is None else f"{fraction * 100:.1f}%",
            "" if reading.remaining is None else f"{reading.remaining:,}",
            "" if reading.limit is None else f"{reading.limit:,}",
            "" if reading.reset_at is None else format_reset(reading.reset_at, tz),
            format_reset(reading.observed_at, tz),
            reading.source + (f" ({reading.status})" if reading.status else ""),
        )
    return table


@quota_app.command("status")
def status(
    ctx: typer.Context,
    provider: ProviderOption = None,
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """One row per plan window: used, limit, percent, reset and projection (`--json` for scripts)."""
    state = state_of(ctx)
    result = _result(state, provider, account)
    if as_json:
        echo_json(result.to_json())
        return
    tz = state.settings.tz
    if not result.plans:
        state.console.print("No subscriptions configured (see docs/quotas.md).")
    else:
        table = Table()
        for col in ("plan", "window", "used", "limit", "percent", "resets", "projected", "source"):
            table.add_column(
                col, justify="right" if col in ("used", "limit", "percent", "projected") else "left"
            )
        for plan in result.plans:
            for usage in plan.windows:
                table.add_row(
                    plan.plan.label,
                    usage.window.name,
                    "" if usage.used is None else _amount(usage, usage.used),
                    "" if usage.limit is None else _amount(usage, usage.limit),
                    "" if usage.percent is None else f"{usage.percent.normalize():f}%",
                    "" if usage.reset_at is None else format_reset(usage.reset_at, tz),
                    "" if usage.projected_percent is None else f"{usage.projected_percent.normalize():f}%",
                    usage.source + (" EXHAUSTED" if usage.exhausted else ""),
                    style="bold red" if usage.exhausted else None,
                )
        state.console.print(table)
    if result.readings:
        state.console.print(_readings_table(result, tz))


@quota_app.command("poll")
def poll(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Ask every source, also within its TTL.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (costwarden.quota_poll/1).")] = False,
) -> None:
    """Ask the configured `quota_pollers:` (OpenRouter key, Anthropic and OpenAI organization usage and
    cost, your own URL or command) and store what they say; a source younger than its TTL is not asked
    again. Exit 1 when a source failed (its last reading is shown, marked stale)."""
    state = state_of(ctx)
    pollers = list(state.settings.quota_pollers)
    if not pollers:
        state.console.print("No quota_pollers configured (see docs/quotas.md).")
        return
    warden = state.warden
    now = warden.clock.now()
    results = poll_all(warden.quotas, pollers, now=now, force=force)
    if as_json:
        echo_json(
            {
                "schema": "costwarden.quota_poll/1",
                "at": utc_iso(now),
                "pollers": [
                    {
                        "name": r.poller.label,
                        "kind": r.poller.kind,
                        "provider": r.poller.provider_name,
                        "account": r.poller.account,
                        "state": r.state,
                        "error": r.error,
                        "age_seconds": None if r.age_seconds is None else int(r.age_seconds),
                        "readings": [reading_json(x, now) for x in r.readings],
                    }
                    for r in results
                ],
            }
        )
    else:
        tz = state.settings.tz
        for result in results:
            poller = result.poller
            head = f"{poller.label} ({poller.provider_name}/{poller.account}): {result.state}"
            if result.error:
                head += f" — {result.error}"
            state.console.print(Text(head, style="bold red" if result.state in ("stale", "failed") else ""))
            for reading in result.readings:
                state.console.print(f"  {_reading_line(reading, tz)}", markup=False)
    if any(r.state in ("stale", "failed") for r in results):
        raise typer.Exit(1)


def _reading_line(reading: QuotaReading, tz: ZoneInfo) -> str:
    def amount(value: int | None) -> str:
        if value is None:
            return "?"
        return f"${money(Decimal(value) / 10**10)}" if reading.unit == "usd" else f"{value:,}"

    parts = [f"{reading.window}: used {amount(reading.used)}"]
    if reading.limit is not None:
        parts.append(f"of {amount(reading.limit)}")
    if reading.remaining is not None:
        parts.append(f"({amount(reading.remaining)} left)")
    if reading.reset_at is not None:
        parts.append(f"resets {format_reset(reading.reset_at, tz)}")
    return " ".join(parts)


@quota_app.command("check")
def check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts raised as JSON.")] = False,
) -> None:
    """Utilization alerts: a plan projected under its floor at mid-cycle, a window nearly exhausted, paid
    plans together under the fleet floor, each with the money at stake. Each is raised once per plan and
    cycle (window and reset; month for the fleet) into the alert feed (`costwarden alerts`); run it from
    cron or after `quota poll`."""
    state = state_of(ctx)
    warden = state.warden
    result = quota_status_view(warden, QuotaQuery())
    findings = utilization_findings(list(result.plans), state.settings.utilization_alerts, result.at)
    hub = warden.budgets.hub if isinstance(warden.budgets, BudgetEngine) else AlertHub()
    raised = [(f, hub.emit(as_alert(f, result.at))) for f in findings]
    if as_json:
        echo_json(
            {
                "schema": "costwarden.quota_check/1",
                "at": utc_iso(result.at),
                "findings": [
                    {
                        "kind": f.kind,
                        "key": f.key,
                        "period": f.period_key,
                        "percent": str(f.percent.quantize(Decimal("0.1"))),
                        "at_stake_usd": money(f.at_stake_usd),
                        "message": f.message,
                        "new": stored is not None,
                    }
                    for f, stored in raised
                ],
            }
        )
        return
    if not findings:
        state.console.print("Every plan is within its floors.")
    for finding, stored in raised:
        suffix = "" if stored is not None else " (already raised)"
        state.console.print(Text(finding.message + suffix), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(quota_app, name="quota")
