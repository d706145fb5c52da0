"""Seed 004's dialect (a coding-assistant wrapper's `~/.config/coi/config.toml`): the `[cost]` table.

    [cost]
    enabled = true
    database = "~/.coi/costs.db"
    [cost.budget]
    daily = 10.00
    monthly = 200.00
    [cost.budget.projects.backend-api]
    monthly = 50.00
    [cost.alert]
    threshold = 80 # Alert at 80% of budget
    webhook = "https://hooks.slack.com/..."
    email = "team@company.com"
    [cost.pricing]
    claude-sonnet-4-input = 0.000003
    claude-sonnet-4-output = 0.000015

Budgets warn at the limit by default (the seed's "warning by default, configurable blocking");
`action = "block"` under `[cost.budget]` blocks instead. Their ids are those `costwarden budget set` gives
(`daily`, `monthly`, `project-backend-api-monthly`), so the file's budget wins over one set from the CLI.
`webhook` is an incoming webhook as Slack's (Slack, Mattermost, Rocket.Chat or your own receiver get
`{"text": ...}`, unsigned: the table has no room for a signing secret); `email` needs an SMTP server
(`[alerts.smtp]` beside the table). Prices under `[cost.pricing]` are USD per token, `MODEL-input`,
`MODEL-output`, `MODEL-cache-read`, `MODEL-cache-write`; they replace the catalog's rates of that model.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from costwarden.dialects.common import Builder

__all__ = ["NAME", "claims", "apply"]

NAME = "[cost] table (seed 004)"
_PERIODS = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}
_SUFFIXES = {
    "-input": "input",
    "-output": "output",
    "-cache-read": "cache_read",
    "-cache-write": "cache_write",
}
_MILLION = Decimal(1_000_000)


def claims(data: Mapping[str, Any]) -> bool:
    return "cost" in data


def _database(build: Builder, value: object) -> None:
    key = "cost.database"
    text = build.text(value, key)
    url = text if "://" in text else f"sqlite:///{Path(text).expanduser()}"
    build.set_top("database", url, key, "a path is a SQLite file")


def _budgets(build: Builder, section: Mapping[str, Any], enabled: bool) -> None:
    build.only(section, (*_PERIODS, "projects", "action"), "cost.budget")
    action = section.get("action", "warn")
    if action not in ("warn", "block"):
        build.fail("cost.budget.action", f"expected warn or block, got {action!r}")
    what = "warns at the limit" if action == "warn" else "blocks at the limit"
    common: dict[str, Any] = {"action": action}
    if not enabled:
        common["enabled"] = False
        what += " (disabled: enabled = false)"
    for word, period in _PERIODS.items():
        if word in section:
            key = f"cost.budget.{word}"
            budget = {"id": word, "period": period, "cost_usd": build.money(section[word], key), **common}
            build.add_budget(budget, key, f"all spend per {period}; {what}")
    projects = build.section(section.get("projects"), "cost.budget.projects")
    for project, body in projects.items():
        where = f"cost.budget.projects.{project}"
        limits = build.section(body, where)
        build.only(limits, tuple(_PERIODS), where)
        for word, period in _PERIODS.items():
            if word in limits:
                key = f"{where}.{word}"
                budget = {
                    "id": f"project-{project}-{word}".lower(),
                    "scope": "project",
                    "value": project,
                    "period": period,
                    "cost_usd": build.money(limits[word], key),
                    **common,
                }
                build.add_budget(budget, key, f"project {project} per {period}; {what}")


def _alert(build: Builder, section: Mapping[str, Any]) -> None:
    build.only(section, ("threshold", "webhook", "email"), "cost.alert")
    if "threshold" in section:
        key = "cost.alert.threshold"
        value = section["threshold"]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            build.fail(key, f"expected a percent such as 80, got {value!r}")
        build.set_key("alerts", "thresholds", [value], key, f"an alert at {value} % of every budget")
    channels: list[dict[str, Any]] = []
    if "webhook" in section:
        url = build.text(section["webhook"], "cost.alert.webhook")
        # the table has no room for a signing secret: an incoming webhook as Slack's (`{"text": ...}`)
        channels.append({"type": "slack", "url": url})
        build.result.origins[f"alerts.channels[{len(channels)}]"] = "cost.alert.webhook"
        build.mapped(
            "cost.alert.webhook",
            f"alerts.channels[{len(channels)}]",
            'a Slack-compatible incoming webhook (POST {"text": ...}, unsigned)',
        )
    if "email" in section:
        address = build.text(section["email"], "cost.alert.email")
        channels.append({"type": "email", "to": [address]})
        build.result.origins[f"alerts.channels[{len(channels)}]"] = "cost.alert.email"
        build.mapped("cost.alert.email", f"alerts.channels[{len(channels)}]", "an email channel")
    if channels:
        alerts = build.data.setdefault("alerts", {})
        if not isinstance(alerts, dict) or "channels" in alerts:
            build.fail("cost.alert", "alerts.channels is set as well; keep one of them")
        alerts["channels"] = [{"type": "log"}, *channels]
        build.result.origins["alerts.channels"] = "cost.alert"


def _pricing(build: Builder, section: Mapping[str, Any]) -> None:
    rates: dict[str, dict[str, Any]] = {}
    for name, value in section.items():
        key = f"cost.pricing.{name}"
        for suffix, slice_name in _SUFFIXES.items():
            if name.endswith(suffix) and len(name) > len(suffix):
                model = name[: -len(suffix)]
                per_token = build.money(value, key)
                rates.setdefault(model, {"model": model})[slice_name] = (per_token * _MILLION).normalize()
                break
        else:
            build.fail(key, f"unknown key (expected MODEL{', MODEL'.join(_SUFFIXES)} in USD per token)")
    for model, override in rates.items():
        given = ", ".join(f"cost.pricing.{model}-{s.replace('_', '-')}" for s in override if s != "model")
        build.add_to_list(
            "pricing", "overrides", override, f"cost.pricing.{model}-*", f"{given}: USD per token x 1,000,000"
        )


def apply(build: Builder) -> None:
    build.recognised(NAME)
    cost = build.section(build.data.pop("cost"), "cost")
    build.only(cost, ("enabled", "database", "budget", "alert", "pricing"), "cost")
    enabled = build.flag(cost.get("enabled", True), "cost.enabled")
    build.mapped("cost.enabled", "" if enabled else "budgets[].enabled", "costs are always tracked")
    if "database" in cost:
        _database(build, cost["database"])
    _budgets(build, build.section(cost.get("budget"), "cost.budget"), enabled)
    _alert(build, build.section(cost.get("alert"), "cost.alert"))
    _pricing(build, build.section(cost.get("pricing"), "cost.pricing"))
