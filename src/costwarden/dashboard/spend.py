"""Where the money went over the page's period: the daily bars stacked by one field (with the daily budget
line), and the table of one dimension (cost, share, tokens, calls, average per call, change against the
same length of time before), each row a drill-down."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from costwarden.budgets.status import budget_status
from costwarden.core.periods import PeriodKind
from costwarden.dashboard.chart import BudgetLine, series_of, stacked_bars
from costwarden.dashboard.context import TABLES, PageQuery
from costwarden.dashboard.html import amount, count, esc, pct, tag
from costwarden.errors import ConfigError
from costwarden.reports.formats import money
from costwarden.storage.ledger import Totals
from costwarden.views.budget_status import BudgetStatusRow, engine_of
from costwarden.views.overview import card_budget
from costwarden.views.periods import PeriodFlags
from costwarden.views.top import TopQuery, TopResult, top
from costwarden.views.trends import STACKS, TrendsQuery, trends

__all__ = ["chart_panel", "table_panel", "previous_flags"]

_STACK_NAMES = {
    "project": "Project",
    "agent": "Agent",
    "model": "Model",
    "provider": "Provider",
    "user": "User",
}
_ROWS = 50


def _switch(name: str, choices: dict[str, str], current: str, label: str) -> str:
    buttons = "".join(
        tag(
            "button",
            esc(text),
            type="button",
            aria_pressed="true" if value == current else "false",
            data_param=name,
            data_value=value,
        )
        for value, text in choices.items()
    )
    return tag("div", buttons, class_="switch", role="group", aria_label=label)


def _daily_budget(page: PageQuery) -> BudgetLine | None:
    try:  # the counters alone (no projection): the line is the limit
        rows = [BudgetStatusRow(s, None) for s in budget_status(engine_of(page.warden), page.now)]
    except ConfigError:
        return None
    if page.caller.restricted:
        rows = [r for r in rows if r.status.scope in {f"project={p}" for p in page.caller.projects}]
    row = card_budget(rows, PeriodKind.DAY, page.where)
    if row is None:
        return None
    status = row.status
    return BudgetLine(status.amount(status.limit), f"budget {status.policy.id}")


def chart_panel(page: PageQuery) -> str:
    period = page.period()
    interval = "hour" if period.end - period.start <= timedelta(days=1, hours=1) else "day"
    result = trends(
        page.warden,
        TrendsQuery(interval=interval, period=page.period_flags, where=page.where, stack=page.stack),
    )
    series = series_of(result.stacks)
    title = f"Cost per {interval}, {result.period.label}, by {page.stack}"
    budget = _daily_budget(page) if interval == "day" else None
    svg = stacked_bars(result.rows, series, budget, title=title)
    unpriced = sum(r.unpriced_events for r in result.rows)
    csv_path = "/usage/daily" if interval == "day" else "/usage/trends"
    csv_extra = () if interval == "day" else (("interval", "hour"),)
    legend = "".join(
        tag(
            "li",
            tag("span", "", class_="swatch", style=f"background:{s.color}")
            + (
                tag("span", esc(s.name))
                if s.other or s.value is None
                else tag(
                    "button",
                    esc(s.name),
                    type="button",
                    class_="link",
                    data_filter=page.stack,
                    data_value=s.value,
                    title=f"Only {page.stack} {s.value}",
                )
            )
            + " "
            + amount(s.total),
            data_series=s.value if s.value is not None else "",
        )
        for s in series
    )
    csv = tag(
        "a",
        "CSV",
        href=page.api(csv_path, *csv_extra, ("stack", page.stack), ("format", "csv")),
        data_download=f"{interval}-by-{page.stack}.csv",
        class_="csv",
    )
    head = tag(
        "div",
        tag("h2", "Cost over time")
        + tag(
            "span",
            f"{esc(result.period.label)}: "
            + amount(result.total, inexact=unpriced > 0, note=f"includes {unpriced:,} unpriced calls"),
            class_="muted",
            data_field="range-total",
        )
        + csv,
        class_="panel-head",
    )
    switch = _switch("stack", {k: _STACK_NAMES[k] for k in STACKS}, page.stack, "Stack the bars by")
    empty = "" if result.total or result.rows else tag("p", "Nothing spent in this period.", class_="muted")
    return head + switch + tag("div", svg, class_="chart-box") + empty + tag("ul", legend, class_="legend")


def previous_flags(page: PageQuery) -> PeriodFlags:
    """The same length of time just before the page's period (up to now when the period runs on)."""
    period = page.period()
    end = min(period.end, page.now)
    length = max(end - period.start, timedelta(0))
    return PeriodFlags(start=(period.start - length).isoformat(), end=period.start.isoformat())


def _change(now: Decimal, before: Decimal | None) -> str:
    if before is None or before == 0:
        return '<span class="muted" data-exact="">new</span>' if now else '<span class="muted">—</span>'
    change = ((now - before) * 100 / before).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    cls = "up" if change > 0 else "down" if change < 0 else ""
    return tag("span", f"{arrow} {abs(change)}%", class_=f"trend {cls}", data_exact=str(change))


def _name_cell(result: TopResult, row: Totals) -> str:
    key = dict(zip(result.keys, row.key, strict=True))
    if result.kind == "sessions":
        session = str(row.key[0])
        return tag("button", esc(session), type="button", class_="link", data_session=session)
    if result.kind == "models":
        text = f"{key['model'] or '(none)'}"
        return tag(
            "button",
            esc(text) + tag("span", esc(f" {key['provider']}"), class_="muted"),
            type="button",
            class_="link",
            data_filter="model",
            data_value=key["model"],
            data_filter2="provider",
            data_value2=key["provider"],
        )
    field = result.keys[0]
    value = str(row.key[0])
    if field.startswith("tag:"):
        return tag(
            "button",
            esc(value),
            type="button",
            class_="link",
            data_filter="tag",
            data_value=f"{field[4:]}:{value}",
        )
    return tag("button", esc(value), type="button", class_="link", data_filter=field, data_value=value)


def _tag_form(page: PageQuery) -> str:
    """The tag whose values the table ranks: a name to type (the page's `tag` filter's name to start)."""
    current = page.table[4:] if page.table.startswith("tag:") else ""
    if not current:
        for name, value in page.api_params:
            if name == "tag":
                current = value.partition(":")[0]
                break
    value = f' value="{esc(current)}"' if current else ""
    field = f'<input id="tag-name" name="tag_name" required autocomplete="off"{value}>'
    return tag(
        "form",
        tag("label", f"Rank the values of the tag {field}") + tag("button", "Show", type="submit"),
        class_="tag-form",
        data_tag_form="1",
    )


def table_panel(page: PageQuery) -> str:
    kind = page.table
    if kind == "tags":
        head_html = tag("div", tag("h2", "Breakdown"), class_="panel-head")
        return head_html + _switch("table", _tabs(page), kind, "Break down by") + _tag_form(page)
    result = top(page.warden, TopQuery(kind=kind, limit=_ROWS, period=page.period_flags, where=page.where))
    before = top(
        page.warden, TopQuery(kind=kind, limit=10_000, period=previous_flags(page), where=page.where)
    )
    earlier = {row.key: row.cost for row in before.rows}
    headers = (
        ("name", "text", f"Tag {kind[4:]}" if kind.startswith("tag:") else TABLES[kind][:-1]),
        ("cost", "num", "Cost"),
        ("share", "num", "Share"),
        ("tokens", "num", "Tokens"),
        ("calls", "num", "Calls"),
        ("avg", "num", "Avg / call"),
        ("trend", "num", "vs before"),
    )
    head = "".join(
        tag(
            "th",
            tag("button", esc(text), type="button", data_sort=name, data_type=kind_),
            scope="col",
            aria_sort="descending" if name == "cost" else None,
        )
        for name, kind_, text in headers
    )
    body: list[str] = []
    for row in result.rows:
        share = result.share(row)
        average = row.cost / row.events if row.events else Decimal(0)
        inexact = row.unpriced_events > 0
        note = f"includes {row.unpriced_events:,} unpriced calls at the fallback price" if inexact else None
        name = " / ".join(v or "" for v in row.key)
        cells = [
            tag("th", _name_cell(result, row), scope="row", data_v=name),
            tag("td", amount(row.cost, inexact=inexact, note=note), data_v=money(row.cost)),
            tag("td", pct(share), data_v=str(share)),
            tag("td", count(row.total_tokens), data_v=str(row.total_tokens)),
            tag("td", count(row.events, short=False), data_v=str(row.events)),
            tag("td", amount(average.quantize(Decimal("1E-10"))), data_v=money(average)),
        ]
        previous = earlier.get(row.key)
        change = _change(row.cost, previous)
        trend_v = "" if previous in (None, Decimal(0)) else str((row.cost - previous) * 100 / previous)
        cells.append(tag("td", change, data_v=trend_v or "-1e18"))
        body.append(tag("tr", "".join(cells), data_key=name))
    table = tag(
        "table",
        tag("caption", esc(f"{_tabs(page).get(kind, kind)}, {result.period.label}"), class_="sr-only")
        + tag("thead", tag("tr", head))
        + tag("tbody", "".join(body)),
        class_="data",
        data_table=kind,
    )
    if not result.rows:
        table = tag("p", f"No {esc(kind)} with spend in this period.", class_="muted")
    csv = tag(
        "a",
        "CSV",
        href=page.api("/usage/top", ("kind", kind), ("limit", str(_ROWS)), ("format", "csv")),
        data_download=f"{kind}.csv",
        class_="csv",
    )
    head_html = tag("div", tag("h2", "Breakdown") + csv, class_="panel-head")
    switch = _switch("table", _tabs(page), kind, "Break down by")
    extra = _tag_form(page) if kind.startswith("tag:") else ""
    return head_html + switch + extra + tag("div", table, class_="table-box")


def _tabs(page: PageQuery) -> dict[str, str]:
    tabs = dict(TABLES)
    if page.table.startswith("tag:"):
        tabs[page.table] = f"Tag {page.table[4:]}"
    else:
        tabs["tags"] = "Tags"
    return tabs
