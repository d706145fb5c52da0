"""The alert feed (newest first) and the insights: suggestions to spend less with their estimated saving per
month and their evidence."""

from __future__ import annotations

from typing import Any

from costwarden.dashboard.context import PageQuery
from costwarden.dashboard.html import amount, esc, tag, when
from costwarden.errors import ConfigError
from costwarden.reports.insights import Insight
from costwarden.server.api.alerts import scope_visible
from costwarden.views.alerts import AlertsQuery, alerts_view
from costwarden.views.insights import InsightsQuery, insights_view

__all__ = ["alerts_panel", "insights_panel"]

_ALERTS = 20


def alerts_panel(page: PageQuery) -> str:
    link = tag("a", "CSV", href="/api/v1/alerts?format=csv", data_download="alerts.csv", class_="csv")
    head = tag("div", tag("h2", "Alerts") + link, class_="panel-head")
    try:
        feed = alerts_view(page.warden, AlertsQuery(limit=_ALERTS)).alerts
    except ConfigError:
        return head + tag("p", "The alert feed needs a database ledger.", class_="muted")
    shown = [a for a in feed if scope_visible(page.caller, a.scope)]
    if not shown:
        return head + tag("p", "No alerts.", class_="muted")
    items: list[str] = []
    for a in shown:
        acked = a.acknowledged
        if acked is not None:
            state = tag("div", f"acknowledged by {esc(acked.by)} {when(acked.at, page.tz)}", class_="acked")
        elif page.admin:
            state = tag(
                "button",
                "Acknowledge",
                type="button",
                class_="ack",
                data_post=f"/api/v1/alerts/{a.id}/ack",
                aria_label=f"Acknowledge alert {a.id}",
            )
        else:
            state = ""
        items.append(
            tag(
                "li",
                state
                + tag("span", esc(a.level), class_=f"level l-{a.level}")
                + " "
                + when(a.at, page.tz)
                + tag("div", esc(a.message))
                + tag("div", esc(f"{a.kind} · {a.budget_id or ''} {a.scope or ''}".strip()), class_="muted"),
                class_=f"alert l-{a.level}" + (" is-acked" if acked is not None else ""),
                data_alert=str(a.id),
                data_kind=a.kind,
                data_acked="true" if acked is not None else "false",
            )
        )
    return head + tag("ul", "".join(items), class_="alerts")


def _evidence(evidence: dict[str, Any]) -> str:
    rows = "".join(tag("dt", esc(k.replace("_", " "))) + tag("dd", esc(v)) for k, v in evidence.items())
    return tag("dl", rows, class_="evidence")


def insights_panel(page: PageQuery) -> str:
    head_link = tag(
        "a", "CSV", href=page.api("/insights", ("format", "csv")), data_download="insights.csv", class_="csv"
    )
    if page.caller.restricted:
        head = tag("div", tag("h2", "Insights"), class_="panel-head")
        return head + tag("p", "Insights span every project: they need an unrestricted key.", class_="muted")
    result = insights_view(page.warden, InsightsQuery(period=page.period_flags, show_all=True))
    total = amount(result.monthly_saving)
    head = tag(
        "div",
        tag("h2", "Insights")
        + tag("span", f"up to {total} a month", class_="muted", data_field="saving")
        + head_link,
        class_="panel-head",
    )
    live = [i for i in result.found if not i.dismissed]
    dismissed = [i for i in result.found if i.dismissed]
    body = (
        tag("ul", "".join(_insight(i, page) for i in live), class_="insights")
        if live
        else tag("p", "No suggestions for this period.", class_="muted")
    )
    if dismissed:
        body += tag(
            "details",
            tag("summary", f"{len(dismissed)} dismissed")
            + tag("ul", "".join(_insight(i, page) for i in dismissed), class_="insights"),
            class_="dismissed",
        )
    return head + body


def _insight(insight: Insight, page: PageQuery) -> str:
    action = "restore" if insight.dismissed else "dismiss"
    button = (
        tag(
            "button",
            action.capitalize(),
            type="button",
            class_="dismiss",
            data_post=page.api(f"/insights/{insight.id}/{action}"),
            aria_label=f"{action.capitalize()} the suggestion: {insight.title}",
        )
        if page.admin
        else ""
    )
    saving = tag("span", f"save ~{amount(insight.monthly_saving)}/month", class_="saving est")
    return tag(
        "li",
        button
        + tag("div", tag("strong", esc(insight.title)) + " " + saving)
        + tag("p", esc(insight.suggestion))
        + tag("details", tag("summary", "Evidence") + _evidence(insight.evidence)),
        class_="insight",
        data_insight=insight.id,
        data_dismissed="true" if insight.dismissed else "false",
    )
