"""`costwarden alert`: where alerts go and whether they got there.

`alert set --webhook URL | --slack URL | --email ADDR` saves a channel in the database (every process using
it sends over it, re-read within seconds), `alert set --threshold 80 | --amount 50` a threshold of every
budget (or of `--budget ID`), listed by `alert thresholds`. `alert channels` lists every channel, `alert test
NAME` sends a test message at once, `alert deliveries` shows the outbox and its attempts, `alert deliver`
sends what is due (once, or `--watch`), `alert remove` drops a saved channel or threshold, `alert ack ID`
acknowledges an alert of the feed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import pydantic
import typer
from rich.table import Table

from costwarden.cli.reporting import usage_errors
from costwarden.cli.state import CliState, state_of
from costwarden.core.channels import SmtpConfig
from costwarden.core.money import format_usd, from_units, parse_money
from costwarden.core.policy import ExtraThreshold, ThresholdConfig
from costwarden.errors import ConfigError, CostwardenError
from costwarden.notify import compose, deliverer_for, new_secret, start_delivery
from costwarden.notify.channels import Channel, new_message_id, parse_channel
from costwarden.storage.budgets import AlertRecord, BudgetRecords
from costwarden.storage.outbox import DELIVERY_STATES, Outbox, SavedChannel
from costwarden.views.alerts import acknowledge_alert, alert_json
from costwarden.views.budget_status import engine_of
from costwarden.views.channels import book_of, channels_view
from costwarden.views.deliveries import DeliveriesQuery, deliveries_view

__all__ = ["register", "alert_app"]

alert_app = typer.Typer(
    help="Alert channels (webhook, Slack, email): set, list, test, remove; the outbox: deliveries, deliver.",
    no_args_is_help=True,
)

_SLACK_HOSTS = ("hooks.slack.com",)
_LEVELS = ("info", "warning", "critical")


def _outbox(state: CliState) -> Outbox:
    outbox = state.warden.backend.outbox
    if outbox is None:
        raise ConfigError("alert channels need a database ledger (the outbox lives there)", key="--db")
    return outbox


def _validated(definition: dict[str, Any], hint: str) -> None:
    try:
        parse_channel(definition)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise typer.BadParameter(f"{where}: {message}" if where else message, param_hint=hint) from None


def _smtp(
    state: CliState,
    host: str | None,
    port: int | None,
    security: str | None,
    user: str | None,
    password_env: str | None,
    sender: str | None,
) -> dict[str, Any] | None:
    """The SMTP server of a new email channel: from the flags, else None (the config's `alerts.smtp`)."""
    given = {
        "host": host,
        "port": port,
        "security": security,
        "username": user,
        "password_env": password_env,
        "from": sender,
    }
    if all(v is None for v in given.values()):
        if state.settings.alerts.smtp is None:
            raise typer.BadParameter(
                "no SMTP server: give --smtp-host and --from (or set `alerts.smtp` in the config file)",
                param_hint="--smtp-host",
            )
        return None
    if host is None or sender is None:
        raise typer.BadParameter("give both --smtp-host and --from", param_hint="--smtp-host")
    smtp = {k: v for k, v in given.items() if v is not None}
    try:
        SmtpConfig.model_validate(smtp)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise typer.BadParameter(
            f"{where}: {str(first['msg']).removeprefix('Value error, ')}", param_hint="--smtp-host"
        ) from None
    return smtp


@alert_app.command("set")
@usage_errors
def set_channel(
    ctx: typer.Context,
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", help="POST alerts as signed JSON (Standard Webhooks) to this URL."),
    ] = None,
    slack: Annotated[
        str | None, typer.Option("--slack", help="A Slack-compatible incoming webhook URL.")
    ] = None,
    email: Annotated[
        list[str] | None, typer.Option("--email", help="Email alerts to this address (repeatable).")
    ] = None,
    threshold: Annotated[
        str | None,
        typer.Option(
            "--threshold", help="Alert when a budget reaches this percent (80 or 80%) of its limit."
        ),
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Alert when a budget's spend reaches this many USD.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Channel name (default: its type).")] = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="Webhook signing secret (whsec_...; default: a new one, shown once)."),
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option("--secret-env", help="Read the webhook signing secret from this variable when sending."),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(
            "--level",
            help="A channel's lowest alert level sent (info, warning (default), critical); with --threshold "
            "or --amount, the level of that alert (default: by percent).",
        ),
    ] = None,
    budget: Annotated[
        list[str] | None, typer.Option("--budget", help="Only alerts of this budget (repeatable).")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only alerts of this kind (repeatable).")
    ] = None,
    plan: Annotated[
        list[str] | None, typer.Option("--plan", help="Only alerts about this plan (repeatable).")
    ] = None,
    rate_limit: Annotated[
        str | None, typer.Option("--rate-limit", help="At most COUNT/DURATION sent, e.g. 10/1h.")
    ] = None,
    smtp_host: Annotated[str | None, typer.Option("--smtp-host", help="SMTP server (email).")] = None,
    smtp_port: Annotated[int | None, typer.Option("--smtp-port", min=1, max=65535)] = None,
    smtp_security: Annotated[
        str | None, typer.Option("--smtp-security", help="starttls (default), tls or none.")
    ] = None,
    smtp_user: Annotated[str | None, typer.Option("--smtp-user")] = None,
    smtp_password_env: Annotated[
        str | None, typer.Option("--smtp-password-env", help="Variable holding the SMTP password.")
    ] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Sender address (email).")] = None,
) -> None:
    """Save an alert channel (`--webhook URL`, `--slack URL`, `--email ADDR`) or an alert threshold
    (`--threshold 80`, `--amount 50`; for every budget, or the one of `--budget`)."""
    state = state_of(ctx)
    if level is not None and level not in _LEVELS:
        raise typer.BadParameter(f"expected one of {', '.join(_LEVELS)}, got {level!r}", param_hint="--level")
    flags = (("--webhook", webhook), ("--slack", slack), ("--email", email), ("--threshold", threshold))
    given = [flag for flag, value in (*flags, ("--amount", amount)) if value]
    if len(given) != 1:
        raise typer.BadParameter(
            "give one of --webhook URL, --slack URL, --email ADDR, --threshold PERCENT or --amount USD",
            param_hint="--webhook",
        )
    if threshold is not None or amount is not None:
        if len(budget or []) > 1:
            raise typer.BadParameter("a threshold is set for one budget or for all", param_hint="--budget")
        _set_threshold(state, threshold, amount, budget[0] if budget else None, level)
        return
    common: dict[str, Any] = {"level": level or "warning"}
    for key, values in (("budgets", budget), ("kinds", kind), ("plans", plan)):
        if values:
            common[key] = list(values)
    if rate_limit is not None:
        common["rate_limit"] = rate_limit
    shown_secret: str | None = None
    note: str | None = None
    if webhook is not None and (urlsplit(webhook).hostname or "") in _SLACK_HOSTS:
        slack, webhook = webhook, None
        note = "This is a Slack incoming webhook: it is set as a Slack channel (Slack takes its own format)."
    if webhook is not None:
        if secret is not None and secret_env is not None:
            raise typer.BadParameter("give --secret or --secret-env, not both", param_hint="--secret")
        definition: dict[str, Any] = {"type": "webhook", "url": webhook, **common}
        if secret_env is not None:
            definition["secret_env"] = secret_env
        else:
            definition["secret"] = secret or new_secret()
            shown_secret = None if secret else definition["secret"]
        hint = "--webhook"
    elif slack is not None:
        definition = {"type": "slack", "url": slack, **common}
        hint = "--slack"
    else:
        definition = {"type": "email", "to": list(email or []), **common}
        smtp = _smtp(state, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password_env, sender)
        if smtp is not None:
            definition["smtp"] = smtp
        hint = "--email"
    channel_name = name or definition["type"]
    _validated({**definition, "name": channel_name}, hint)
    configured = {c.name or c.type for c in state.settings.alerts.channels}
    outbox = _outbox(state)
    outbox.save_channel(SavedChannel(channel_name, definition))
    channel = book_of(state.warden).channels(fresh=True).get(channel_name)
    target = channel.target() if channel is not None else definition["type"]
    state.console.print(f"Set {definition['type']} channel {channel_name!r}: {target}.", markup=False)
    if note:
        state.err.print(note, markup=False)
    if shown_secret is not None:
        state.console.print(
            "Signing secret (shown once; your receiver verifies webhook-signature with it):", markup=False
        )
        state.console.print(shown_secret, markup=False, soft_wrap=True)
    if channel_name in configured:
        state.err.print(
            f"Note: {state.settings.source or 'the config file'} also defines channel {channel_name!r}; "
            "the config file wins while it does.",
            markup=False,
        )


def _records(state: CliState) -> BudgetRecords:
    engine = engine_of(state.warden)
    if engine.records is None:
        raise ConfigError("alert thresholds need a database ledger", key="--db")
    return engine.records


def _extra(
    threshold: str | None, amount: str | None, budget: str | None, level: str | None
) -> ExtraThreshold:
    if threshold is not None:
        try:
            percent = ThresholdConfig.model_validate({"percent": threshold.strip()}).percent
        except pydantic.ValidationError as exc:
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise typer.BadParameter(message, param_hint="--threshold") from None
        return ExtraThreshold(budget=budget, percent=percent, level=level)
    try:
        usd = parse_money((amount or "").strip().removeprefix("$"), "amount")
    except CostwardenError as exc:
        raise typer.BadParameter(str(exc).removeprefix("amount: "), param_hint="--amount") from None
    if not usd > 0:
        raise typer.BadParameter(f"expected a positive amount, got {amount!r}", param_hint="--amount")
    return ExtraThreshold(budget=budget, amount_usd=usd, level=level)


def _same(a: ExtraThreshold, b: ExtraThreshold) -> bool:
    return (a.budget, a.percent, a.amount_usd) == (b.budget, b.percent, b.amount_usd)


def _set_threshold(
    state: CliState, threshold: str | None, amount: str | None, budget: str | None, level: str | None
) -> None:
    extra = _extra(threshold, amount, budget, level)
    engine = engine_of(state.warden)
    policies = engine.policies.by_id
    if budget is not None:
        if budget not in policies:
            raise typer.BadParameter(
                f"no budget {budget!r} (see `costwarden budget list`)", param_hint="--budget"
            )
        if extra.percent_of(policies[budget]) is None:
            limit = policies[budget].limits.cost
            why = (
                "has no cost limit"
                if not limit
                else f"has a cost limit of {format_usd(from_units(limit), 2)}"
            )
            raise typer.BadParameter(
                f"budget {budget!r} {why}; the amount never applies", param_hint="--amount"
            )
    records = _records(state)
    stored = [ExtraThreshold.from_mapping(i) for i in records.alert_thresholds()]
    kept = [item for item in stored if not _same(item, extra)]
    records.save_alert_thresholds([i.to_mapping() for i in (*kept, extra)])
    applies = sorted(p.id for p in policies.values() if extra.percent_of(p) is not None)
    where = f"budget {budget!r}" if budget is not None else "every budget"
    state.console.print(f"Alert at {extra.label} of {where}.", markup=False)
    if budget is None:
        now = ", ".join(applies) if applies else "none yet"
        state.console.print(f"Applies to: {now}.", markup=False)


@alert_app.command("thresholds")
def list_thresholds(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the thresholds set with `alert set --threshold/--amount` and the budgets each applies to."""
    state = state_of(ctx)
    policies = engine_of(state.warden).policies.by_id
    rows: list[dict[str, Any]] = []
    for item in _records(state).alert_thresholds():
        extra = ExtraThreshold.from_mapping(item)
        applies = sorted(p.id for p in policies.values() if extra.percent_of(p) is not None)
        rows.append({**extra.to_mapping(), "label": extra.label, "applies_to": applies})
    if as_json:
        typer.echo(json.dumps({"schema": "costwarden.alert-thresholds/1", "thresholds": rows}, indent=2))
        return
    if not rows:
        state.console.print("No thresholds set with `alert set`; budgets alert at their own.")
        return
    for row in rows:
        level = f", level {row['level']}" if row.get("level") else ""
        which = f"budget {row['budget']!r}" if row["budget"] else "every budget"
        names = ", ".join(row["applies_to"]) or "none yet"
        state.console.print(f"{row['label']} of {which}{level}: applies to {names}.", markup=False)


@alert_app.command("remove")
def remove_channel(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="A channel saved with `alert set`.")] = None,
    threshold: Annotated[
        str | None, typer.Option("--threshold", help="A threshold set with `alert set`.")
    ] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="An amount set with `alert set`.")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="The budget of that threshold.")] = None,
) -> None:
    """Remove a channel saved with `alert set` (its alerts not yet delivered are marked failed), or a
    threshold (`--threshold 80`, `--amount 50`, with its `--budget` if it was set with one)."""
    state = state_of(ctx)
    if (name is None) == (threshold is None and amount is None):
        raise typer.BadParameter("give a channel NAME, or --threshold / --amount", param_hint="NAME")
    if name is None:
        extra = _extra(threshold, amount, budget, None)
        records = _records(state)
        items = [ExtraThreshold.from_mapping(i) for i in records.alert_thresholds()]
        kept = [i for i in items if not _same(i, extra)]
        if len(kept) == len(items):
            where = f" of budget {budget!r}" if budget else ""
            raise typer.BadParameter(f"no threshold {extra.label}{where} was set", param_hint="--threshold")
        records.save_alert_thresholds([i.to_mapping() for i in kept])
        state.console.print(f"Removed the alert at {extra.label}.", markup=False)
        return
    outbox = _outbox(state)
    if not outbox.remove_channel(name):
        raise typer.BadParameter(f"no channel {name!r} was saved with `alert set`", param_hint="NAME")
    dropped = outbox.abandon(name, "channel removed")
    more = f"; {dropped} undelivered alert(s) marked failed" if dropped else ""
    state.console.print(f"Removed channel {name!r}{more}.", markup=False)


@alert_app.command("channels")
def list_channels(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the alert channels: where each sends, which alerts it takes, its backlog and health."""
    state = state_of(ctx)
    result = channels_view(state.warden)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    table = Table()
    for col in ("name", "type", "from", "target", "level", "filters", "rate limit", "state", "backlog"):
        table.add_column(col)
    for row in result.channels:
        filters = "; ".join(f"{k}={','.join(v)}" for k, v in row.filters.items()) or "all"
        backlog = ", ".join(f"{n} {s}" for s, n in sorted(row.backlog.items()) if n) or "-"
        state_text = row.state if row.problem is None else f"unusable: {row.problem}"
        style = {"failing": "red", "unusable": "red", "retrying": "yellow"}.get(row.state)
        table.add_row(
            row.name,
            row.type,
            row.origin,
            row.target,
            row.level,
            filters if row.type != "log" else "-",
            row.rate_limit or "-",
            state_text,
            backlog if row.type != "log" else "-",
            style=style,
        )
    if not state.console.is_terminal:
        state.console.width = max(state.console.width, 200)
    state.console.print(table)
    for other, counts in sorted(result.orphans.items()):
        pending = counts.get("pending", 0)
        if pending:
            state.err.print(
                f"Note: {pending} alert(s) wait for channel {other!r}, which is not configured here.",
                markup=False,
            )


def _channel(state: CliState, name: str) -> Channel:
    book = book_of(state.warden)
    channels = book.channels(fresh=True)
    if name in channels:
        return channels[name]
    problem = book.problems().get(name)
    if problem is not None:
        raise typer.BadParameter(f"channel {name!r} cannot be used: {problem}", param_hint="CHANNEL")
    known = ", ".join(sorted(channels)) or "none; add one with `costwarden alert set`"
    raise typer.BadParameter(f"no channel {name!r} (channels: {known})", param_hint="CHANNEL")


@alert_app.command("test")
def test_channel(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="CHANNEL", help="The channel to send a test alert over.")],
) -> None:
    """Send a test alert over one channel now (not through the outbox) and say how it went."""
    state = state_of(ctx)
    channel = _channel(state, name)
    alert = AlertRecord(
        kind="test",
        at=datetime.fromtimestamp(state.clock(), UTC),
        budget_id="",
        scope=f"channel={name}",
        period_key="",
        dimension="requests",
        level="info",
        message=f"Test alert from costwarden: channel {name!r} ({channel.type}) works.",
        details={"channel": name, "unit": "alerts"},
    )
    started = time.monotonic()
    outcome = channel.sender.send(compose(new_message_id(), alert))
    took = (time.monotonic() - started) * 1000
    detail = f" ({outcome.detail})" if outcome.detail else ""
    if outcome.ok:
        state.console.print(
            f"Sent a test alert over {name!r}: {outcome.outcome}{detail}, {took:.0f} ms.", markup=False
        )
        return
    state.err.print(f"Test alert over {name!r} failed: {outcome.outcome}{detail}.", markup=False)
    raise typer.Exit(1)


@alert_app.command("deliveries")
@usage_errors
def list_deliveries(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only this state: {', '.join(DELIVERY_STATES)}.")
    ] = None,
    alert_id: Annotated[
        int | None, typer.Option("--alert", help="Only the deliveries of this alert id.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many (newest first).")] = 50,
    attempts: Annotated[bool, typer.Option("--attempts", help="With every attempt of each.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the outbox: each alert bound for a channel, its state, attempts and last error."""
    state = state_of(ctx)
    query = DeliveriesQuery(limit=limit, channel=channel, status=status, alert_id=alert_id, attempts=attempts)
    result = deliveries_view(state.warden, query)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    if not result.deliveries:
        state.console.print("No deliveries.")
        return
    tz = state.settings.tz
    table = Table()
    for col in ("raised", "channel", "status", "tries", "next / done", "alert", "last error"):
        table.add_column(col)
    for item in result.deliveries:
        when = item.next_attempt_at if item.status == "pending" else item.finished_at
        style = {"failed": "red", "pending": "yellow", "suppressed": "dim"}.get(item.status)
        table.add_row(
            f"{item.created_at.astimezone(tz):%Y-%m-%d %H:%M:%S}",
            item.channel,
            item.status,
            str(item.attempts),
            f"{when.astimezone(tz):%H:%M:%S}" if when is not None else "-",
            f"#{item.alert.id} {item.alert.kind}: {item.alert.message}",
            item.last_error or "",
            style=style,
        )
        if result.attempts is not None:
            for attempt in result.attempts.get(item.id, []):
                mark = "ok" if attempt.ok else attempt.outcome
                table.add_row(
                    "",
                    "",
                    f"  #{attempt.attempt}",
                    "",
                    f"{attempt.at.astimezone(tz):%H:%M:%S}",
                    f"  {mark} in {attempt.duration_ms} ms",
                    attempt.detail or "",
                )
    if not state.console.is_terminal:
        state.console.width = max(state.console.width, 200)
    state.console.print(table)


@alert_app.command("deliver")
def deliver(
    ctx: typer.Context,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep delivering until interrupted (as `costwarden serve` does).")
    ] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between passes (--watch).")] = 1.0,
) -> None:
    """Send the alerts that are due (new ones and retries whose backoff has passed)."""
    state = state_of(ctx)
    if watch:
        worker = start_delivery(state.warden, poll=poll)
        state.err.print("Delivering alerts; Ctrl-C stops.", markup=False)
        try:
            while worker.running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            worker.stop()
        return
    report = deliverer_for(state.warden).deliver_due()
    state.console.print(
        f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed, "
        f"{report.suppressed} held back by rate limits.",
        markup=False,
    )
    if report.retrying or report.failed:
        raise typer.Exit(1)


@alert_app.command("ack")
@usage_errors
def acknowledge(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(min=1, help="The alert's id (`costwarden alerts --json`).")],
    note: Annotated[str | None, typer.Option("--note", help="Why, or what is being done.")] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who acknowledges (default: your login name).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alert as JSON.")] = False,
) -> None:
    """Acknowledge an alert of the feed: who and when are recorded (the first acknowledgement is kept)."""
    state = state_of(ctx)
    who = by.strip() if by is not None else _login()
    if not who:
        raise typer.BadParameter("must not be empty", param_hint="--by")
    acked = acknowledge_alert(state.warden, alert_id, who, note)
    if acked is None:
        raise typer.BadParameter(f"no alert {alert_id} (see `costwarden alerts`)", param_hint="ALERT_ID")
    if as_json:
        typer.echo(json.dumps(alert_json(acked), indent=2))
        return
    ack = acked.acknowledged
    assert ack is not None
    when = f"{ack.at.astimezone(state.settings.tz):%Y-%m-%d %H:%M}"
    state.console.print(f"Alert {alert_id} acknowledged by {ack.by} at {when}.", markup=False)


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def register(app: typer.Typer) -> None:
    app.add_typer(alert_app, name="alert")
