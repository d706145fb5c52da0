"""Seed 001's dialect (an agent orchestrator's `config.yaml`): `limits:` (global, per project, per agent),
`projects.NAME.limits`, `pricing.models` with `input_per_million` / `output_per_million`, the
`alerts.notifications` list and `usage.retention` / `usage.aggregation`.

    limits:
      global: {max_tokens_per_day: 1000000, max_cost_per_day: 50.00, max_concurrent_agents: 5}
      per_project: {default: {max_cost_per_day: 20.00, max_cost_per_month: 200.00}}
      per_agent: {default: {max_tokens_per_run: 100000, max_cost_per_run: 5.00}}
    projects:
      my-arpg: {limits: {max_cost_per_day: 30.00}}

A limit key is `max_{cost,tokens,requests}_per_{run,hour,day,week,month}` or `max_concurrent_agents`. Global
and project limits block new calls at the limit; per-agent limits per run terminate the run; concurrent
agents beyond the limit wait (queue) for a free slot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from costwarden.dialects.common import Builder

__all__ = ["NAME", "claims", "apply"]

NAME = "limits (seed 001)"
_LIMIT = re.compile(r"^max_(cost|tokens|requests)_per_(run|hour|day|week|month)$")
_UNIT_KEYS = {"cost": "cost_usd", "tokens": "tokens", "requests": "requests"}
_SCOPES = ("global", "per_project", "per_agent")
_CRON = re.compile(r"^\S+(\s+\S+){4}$")
_CONCURRENT_WAIT = "10m"


def claims(data: Mapping[str, Any]) -> bool:
    pricing = data.get("pricing")
    alerts = data.get("alerts")
    return (
        "limits" in data
        or "projects" in data
        or "usage" in data
        or (isinstance(pricing, Mapping) and "models" in pricing)
        or (isinstance(alerts, Mapping) and "notifications" in alerts)
    )


Fields = dict[tuple[str, str], tuple[Any, str]]
"""`{(period, native field): (value, the file's key)}` of one limits section."""
_ALLOWED = "max_{cost,tokens,requests}_per_{run,hour,day,week,month}"


def _limit_fields(build: Builder, section: Mapping[str, Any], key: str, *, concurrent: bool) -> Fields:
    """The limits of one section, each value checked."""
    out: Fields = {}
    for name, value in section.items():
        where = f"{key}.{name}"
        if name == "max_concurrent_agents" and concurrent:
            count = build.count(value, where)
            if count < 1:
                build.fail(where, "expected at least 1")
            out[("concurrent", "max_concurrent")] = (count, where)
            continue
        match = _LIMIT.match(name)
        if match is None:
            allowed = _ALLOWED
            if concurrent:
                allowed += " or max_concurrent_agents"
            build.fail(where, f"unknown key (expected {allowed})")
        unit, period = match.groups()
        amount: Decimal | int = build.money(value, where) if unit == "cost" else build.count(value, where)
        out[(period, _UNIT_KEYS[unit])] = (amount, where)
    return out


def _apply_limits(build: Builder) -> None:
    limits = build.section(build.data.pop("limits", None), "limits")
    build.only(limits, _SCOPES, "limits")
    projects = build.section(build.data.pop("projects", None), "projects")
    overrides: dict[str, Fields] = {}
    for project, body in projects.items():
        section = build.section(body, f"projects.{project}")
        build.only(section, ("limits",), f"projects.{project}")
        limits_key = f"projects.{project}.limits"
        overrides[project] = _limit_fields(
            build, build.section(section.get("limits"), limits_key), limits_key, concurrent=False
        )
    found = build.section(limits.get("global"), "limits.global")
    _budgets(build, "global", _limit_fields(build, found, "limits.global", concurrent=True), {})
    for scope, word in (("per_project", "project"), ("per_agent", "agent")):
        section = build.section(limits.get(scope), f"limits.{scope}")
        build.only(section, ("default",), f"limits.{scope}")
        key = f"limits.{scope}.default"
        fields = _limit_fields(
            build, build.section(section.get("default"), key), key, concurrent=scope == "per_project"
        )
        _budgets(build, word, fields, overrides if word == "project" else {})


def _budgets(
    build: Builder,
    scope: str,
    fields: Fields,
    overrides: dict[str, Fields],
) -> None:
    """One budget per period of `fields` (and of the projects' overrides)."""
    source = {
        "global": "limits.global",
        "project": "limits.per_project.default",
        "agent": "limits.per_agent.default",
    }[scope]
    periods = dict.fromkeys(p for p, _ in fields)
    for per_project in overrides.values():
        periods.update(dict.fromkeys(p for p, _ in per_project))
    for period in periods:
        budget: dict[str, Any] = {"id": f"limits-{scope}-{period}"}
        if scope != "global":
            budget["scope"] = scope
        mine = {name: value for (p, name), (value, _) in fields.items() if p == period}
        if period == "concurrent":
            budget.update(period="total", concurrency="runs", queue_timeout=_CONCURRENT_WAIT, **mine)
            note = f"at most {mine['max_concurrent']} agent runs at once; the next waits"
            note += f" up to {_CONCURRENT_WAIT}"
        elif period == "run":
            budget.update(period="run", action="terminate_run", **mine)
            note = "each run of each agent; a run past its limit is terminated"
        else:
            budget.update(period=period, action="block", **mine)
            note = f"per {period}; calls are refused at the limit (new runs are blocked)"
        named = {
            project: {name: value for (p, name), (value, _) in per_project.items() if p == period}
            for project, per_project in overrides.items()
        }
        named = {project: values for project, values in named.items() if values}
        if named:
            budget["overrides"] = named
            note += "; " + ", ".join(f"projects.{p}.limits" for p in named) + " as overrides"
        path = build.add_budget(budget, source if mine else "projects", note)
        for (p, name), (_, key) in fields.items():
            if p == period:
                build.mapped(key, f"{path}.{name}")
        for project, per_project in overrides.items():
            for (p, name), (_, key) in per_project.items():
                if p == period:
                    build.mapped(key, f"{path}.overrides.{project}.{name}")


def _apply_pricing(build: Builder) -> None:
    pricing = build.data.get("pricing")
    if not isinstance(pricing, dict) or "models" not in pricing:
        return
    models = build.section(pricing.pop("models"), "pricing.models")
    for model, body in models.items():
        key = f"pricing.models.{model}"
        rates = build.section(body, key)
        names = {"input_per_million": "input", "output_per_million": "output"}
        optional = {"cache_read_per_million": "cache_read", "cache_write_per_million": "cache_write"}
        build.only(rates, (*names, *optional), key)
        override: dict[str, Any] = {"model": model}
        for name, native in (names | optional).items():
            if name in rates:
                override[native] = build.money(rates[name], f"{key}.{name}")
            elif name in names:
                build.fail(f"{key}.{name}", "required key is missing")
        build.add_to_list(
            "pricing",
            "overrides",
            override,
            key,
            f"USD per million tokens for calls to model {model!r} (any provider), in place of the catalog",
        )


def _apply_notifications(build: Builder) -> None:
    alerts = build.data.get("alerts")
    if not isinstance(alerts, dict) or "notifications" not in alerts:
        return
    items = alerts.pop("notifications")
    if not isinstance(items, list):
        build.fail("alerts.notifications", "expected a list")
    channels: list[dict[str, Any]] = [{"type": "log"}]
    for index, item in enumerate(items):
        key = f"alerts.notifications[{index}]"
        body = build.section(item, key)
        kind = body.get("type")
        if kind == "in_app":
            build.only(body, ("type", "enabled"), key)
            build.mapped(key, "the alerts feed", "always on: `costwarden alerts`, and the log channel")
            continue
        if kind not in ("email", "webhook"):
            build.fail(f"{key}.type", f"expected in_app, email or webhook, got {kind!r}")
        allowed = (
            ("type", "enabled", "recipients")
            if kind == "email"
            else ("type", "enabled", "url", "secret", "secret_env")
        )
        build.only(body, allowed, key)
        if not build.flag(body.get("enabled", True), f"{key}.enabled"):
            build.mapped(key, "", "enabled: false: not configured")
            continue
        note = ""
        if kind == "email":
            recipients = body.get("recipients")
            if not isinstance(recipients, list) or not recipients:
                build.fail(f"{key}.recipients", "expected a list of email addresses")
            to = [build.text(r, f"{key}.recipients[{i}]") for i, r in enumerate(recipients)]
            channels.append({"type": "email", "to": to})
        else:
            url = build.text(body.get("url"), f"{key}.url")
            signing = {
                name: build.text(body[name], f"{key}.{name}")
                for name in ("secret", "secret_env")
                if name in body
            }
            if signing:  # signed JSON alerts (Standard Webhooks)
                channels.append({"type": "webhook", "url": url, **signing})
            else:
                channels.append({"type": "slack", "url": url})
                note = (
                    'a Slack-compatible incoming webhook (POST {"text": ...}, unsigned; add secret: to sign)'
                )
        build.result.origins[f"alerts.channels[{len(channels) - 1}]"] = key
        build.mapped(key, f"alerts.channels[{len(channels) - 1}]", note)
    if "channels" in alerts:
        build.fail("alerts.notifications", "also given as alerts.channels; keep one of them")
    alerts["channels"] = channels
    build.result.origins["alerts.channels"] = "alerts.notifications"


def _apply_usage(build: Builder) -> None:
    if "usage" not in build.data:
        return
    usage = build.section(build.data.pop("usage"), "usage")
    build.only(usage, ("retention", "aggregation"), "usage")
    retention = build.section(usage.get("retention"), "usage.retention")
    build.only(retention, ("detailed", "daily", "monthly"), "usage.retention")
    for name, value in retention.items():
        key = f"usage.retention.{name}"
        days: int | None
        if value == "forever":
            days = None
        else:
            days = build.count(value, key)
            if days < 1:
                build.fail(key, "expected at least 1 day, or forever")
        build.set_key("retention", f"{name}_days", days, key, "kept forever" if days is None else "")
    aggregation = build.section(usage.get("aggregation"), "usage.aggregation")
    build.only(aggregation, ("schedule",), "usage.aggregation")
    if "schedule" in aggregation:
        schedule = build.text(aggregation["schedule"], "usage.aggregation.schedule")
        if not _CRON.match(schedule):
            build.fail(
                "usage.aggregation.schedule",
                f"expected a cron schedule such as '0 2 * * *', got {schedule!r}",
            )
        build.mapped(
            "usage.aggregation.schedule",
            "",
            f"costwarden does not schedule itself: run `costwarden maintain` from cron at {schedule!r}",
        )


def apply(build: Builder) -> None:
    build.recognised(NAME)
    if "limits" in build.data or "projects" in build.data:
        _apply_limits(build)
    _apply_pricing(build)
    _apply_notifications(build)
    _apply_usage(build)
