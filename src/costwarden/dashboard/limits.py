"""Budgets and quotas: every budget limit and plan window with its utilization bar (spent, and reserved in
flight), the projection and the reset; exhausted ones first; paid plans under their floor flagged."""

from __future__ import annotations

from decimal import Decimal

from costwarden.dashboard.context import PageQuery
from costwarden.dashboard.html import esc, pct, tag, when
from costwarden.errors import ConfigError
from costwarden.reports.formats import unit_json
from costwarden.server.api.alerts import scope_visible
from costwarden.views.budget_status import BudgetStatusRow, budget_status_view
from costwarden.views.overview import state_of

__all__ = ["limits_panel"]


def _shown(money: bool, value: Decimal | int) -> str:
    return f"${Decimal(value):,.2f}" if money else f"{int(value):,}"


def _bar(spent: Decimal, reserved: Decimal, state: str) -> str:
    a = min(100.0, max(0.0, float(spent)))
    b = min(100.0 - a, max(0.0, float(reserved)))
    return (
        f'<div class="meter" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{a:.1f}">'
        f'<span class="fill s-{state}" style="width:{a:.1f}%"></span>'
        f'<span class="fill reserved" style="width:{b:.1f}%" title="reserved in flight"></span></div>'
    )


def _budget_row(row: BudgetStatusRow, page: PageQuery) -> str:
    status = row.status
    data = row.to_json()
    unit = status.unit
    limit = status.amount(status.limit)
    projected = row.projection.projected if row.projection is not None else None
    state = (
        "red"
        if status.state == "exhausted"
        else state_of(status.percent, projected is not None and projected > limit)
    )
    reserved_pct = Decimal(status.reserved) * 100 / Decimal(status.limit) if status.limit else Decimal(0)
    is_money = unit.is_money
    spent_text = _shown(is_money, status.amount(status.spent))
    extra = [f"reserved {_shown(is_money, status.amount(status.reserved))}"]
    if projected is not None:
        extra.append(f"projected {_shown(is_money, projected)}")
    words = {"red": "exhausted" if status.state == "exhausted" else "over", "amber": "near", "green": "ok"}
    cells = [
        tag(
            "th",
            tag("strong", esc(status.policy.id))
            + tag("div", esc(f"{status.scope} · {status.policy.period.spelled}"), class_="muted"),
            scope="row",
        ),
        tag(
            "td",
            _bar(status.percent, reserved_pct, state)
            + tag(
                "div",
                f"{pct(status.percent)} · {esc(spent_text)} of {esc(_shown(is_money, limit))}",
                class_="sub",
            )
            + tag("div", esc(" · ".join(extra)), class_="sub muted"),
            class_="bar-cell",
        ),
        tag(
            "td",
            tag("span", esc(words.get(state, "ok")), class_=f"state s-{state}")
            + tag("div", when(status.resets_at, page.tz), class_="sub muted"),
        ),
    ]
    return tag(
        "tr",
        "".join(cells),
        class_=f"s-{state}",
        data_budget=status.policy.id,
        data_scope=status.scope,
        data_unit=unit.value,
        data_state=state,
        data_spent=str(unit_json(unit, status.amount(status.spent))),
        data_limit=str(data["limit"]),
        data_percent=str(status.percent),
    )


def _budgets(page: PageQuery) -> tuple[str, int]:
    try:
        rows = budget_status_view(page.warden, page.now).rows
    except ConfigError:
        return tag("p", "Budgets need a database ledger.", class_="muted"), 0
    rows = [r for r in rows if scope_visible(page.caller, r.status.scope)]
    if not rows:
        return tag(
            "p", "No budgets. Set one with `costwarden budget set` or PUT /api/v1/limits.", class_="muted"
        ), 0
    rows.sort(key=lambda r: (r.status.state != "exhausted", -r.status.percent, r.status.policy.id))
    head = "".join(tag("th", esc(h), scope="col") for h in ("Budget", "Used", "State · resets"))
    table = tag(
        "table",
        tag("thead", tag("tr", head)) + tag("tbody", "".join(_budget_row(r, page) for r in rows)),
        class_="data budgets",
    )
    return tag("div", table, class_="table-box"), len(rows)


def _quotas(page: PageQuery) -> str:
    settings = page.warden.settings
    if not settings.subscriptions or page.caller.restricted:
        return ""
    from costwarden.quotas.alerts import utilization_findings
    from costwarden.views.quota_status import QuotaQuery, quota_status_view

    result = quota_status_view(page.warden, QuotaQuery())
    findings = utilization_findings(list(result.plans), settings.utilization_alerts, result.at)
    under = {f.key: f for f in findings if f.kind == "under_floor"}
    items: list[str] = []
    plans = sorted(result.plans, key=lambda p: (not p.exhausted, -(p.utilization or Decimal(-1))))
    for plan in plans:
        windows: list[str] = []
        for w in plan.windows:
            state = "red" if w.exhausted else state_of(w.percent)
            figure = pct(w.percent) if w.percent is not None else tag("span", "unknown", class_="muted")
            projected = f" · projected {pct(w.projected_percent)}" if w.projected_percent is not None else ""
            windows.append(
                tag(
                    "li",
                    tag("span", esc(w.window.name), class_="wname")
                    + _bar(w.percent or Decimal(0), Decimal(0), state)
                    + tag("div", f"{figure}{projected} · resets {when(w.reset_at, page.tz)}", class_="sub"),
                    data_window=w.window.name,
                    data_state=state,
                )
            )
        flag = ""
        finding = under.get(plan.plan.key)
        if finding is not None:
            flag = tag("p", esc(finding.message), class_="flag", data_flag="under_floor")
        price = f" · {esc(_shown(True, plan.price_usd))} a cycle" if plan.price_usd else ""
        items.append(
            tag(
                "li",
                tag("strong", esc(plan.plan.label))
                + tag("span", f" {esc(plan.plan.provider)}{price}", class_="muted")
                + flag
                + tag("ul", "".join(windows), class_="windows"),
                class_="plan",
                data_plan=plan.plan.key,
            )
        )
    return tag("h3", "Subscription quotas") + tag("ul", "".join(items), class_="plans")


def limits_panel(page: PageQuery) -> str:
    budgets, _ = _budgets(page)
    link = tag(
        "a", "CSV", href="/api/v1/limits/status?format=csv", data_download="limits-status.csv", class_="csv"
    )
    head = tag("div", tag("h2", "Budgets and quotas") + link, class_="panel-head")
    return head + budgets + _quotas(page)
