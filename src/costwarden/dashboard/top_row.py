"""The top row: today, this week and this month (spent, budget, percent used, projected at the period's end)
and the tightest budget or quota window with its reset, each coloured red, amber or green and saying so in
words; then what the figures rest on (computed, estimated, unpriced calls)."""

from __future__ import annotations

from costwarden.dashboard.context import PageQuery
from costwarden.dashboard.html import amount, esc, pct, tag, when
from costwarden.reports.formats import usd
from costwarden.server.api.reads import overview_query
from costwarden.views.basis import Basis
from costwarden.views.overview import OverviewResult, PeriodCard, Tightest, overview

__all__ = ["top_row", "STATE_WORDS"]

STATE_WORDS: dict[str, str] = {
    "red": "Over budget",
    "amber": "Near the limit",
    "green": "Within budget",
    "none": "No budget",
}
_TITLES = {"today": "Today", "this-week": "This week", "this-month": "This month"}


def _meter(percent_text: str, state: str) -> str:
    width = min(100.0, max(0.0, float(percent_text)))
    return (
        f'<div class="meter" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{width:.1f}">'
        f'<span class="fill s-{state}" style="width:{width:.1f}%"></span></div>'
    )


def _card(card: PeriodCard, page: PageQuery) -> str:
    totals = card.totals
    inexact = totals.unpriced_events > 0
    note = f"includes {totals.unpriced_events:,} unpriced calls at the fallback price" if inexact else None
    lines = [
        tag("h3", esc(_TITLES[card.name])),
        tag("div", amount(totals.cost, inexact=inexact, note=note), class_="big", data_field="spent"),
        tag(
            "div",
            f"projected {amount(card.projection.projected)} by the end",
            class_="sub",
            data_field="projected",
        ),
    ]
    budget = card.budget
    if budget is not None:
        status = budget.status
        limit = status.amount(status.limit)
        lines.append(
            tag(
                "div",
                f"{pct(status.percent)} of {amount(limit)} "
                f'<span class="muted">({esc(status.policy.id)}, {esc(status.scope)})</span>',
                class_="sub",
                data_field="budget",
            )
        )
        lines.append(_meter(str(status.percent), card.state))
        lines.append(tag("div", f"resets {when(status.resets_at, page.tz)}", class_="sub muted"))
    lines.append(tag("div", esc(STATE_WORDS[card.state]), class_=f"state s-{card.state}"))
    return tag("article", "".join(lines), class_=f"card s-{card.state}", data_card=card.name)


def _tightest(tightest: Tightest | None, page: PageQuery) -> str:
    if tightest is None:
        body = tag("h3", "Tightest limit") + tag("p", "No budget or quota window configured.", class_="muted")
        return tag("article", body, class_="card s-none", data_card="tightest")
    what = "Budget" if tightest.kind == "budget" else "Quota"
    state = tightest.state
    words = "Exhausted" if tightest.exhausted else STATE_WORDS[state].replace("budget", "limit")
    body = "".join(
        [
            tag("h3", "Tightest limit"),
            tag("div", pct(tightest.percent), class_="big", data_field="percent"),
            tag(
                "div",
                f"{esc(what)} <strong>{esc(tightest.name)}</strong> ({esc(tightest.scope)})",
                class_="sub",
            ),
            _meter(str(tightest.percent), state),
            tag("div", f"resets {when(tightest.resets_at, page.tz)}", class_="sub muted"),
            tag("div", esc(words), class_=f"state s-{state}"),
        ]
    )
    return tag("article", body, class_=f"card s-{state}", data_card="tightest")


def basis_line(basis: Basis | None) -> str:
    """What the month's figures rest on; estimated and unpriced calls are named, never hidden."""
    if basis is None or not basis.calls:
        return ""
    parts = [f"{basis.computed:,} of {basis.calls:,} calls computed from token usage"]
    if basis.provider_reported:
        parts.append(f"{basis.provider_reported:,} provider-reported")
    flag = ""
    if basis.estimated or basis.unpriced:
        flag = ' class="warn"'
        parts.append(f"{basis.estimated:,} estimated")
        parts.append(f"{basis.unpriced:,} unpriced (counted at the fallback price, marked ≈)")
    text = esc(f"This month: {', '.join(parts)}; {basis.catalog} prices.")
    return f'<p class="basis"{flag} data-basis>{text}</p>'


def top_row(page: PageQuery) -> str:
    result: OverviewResult = overview(page.warden, overview_query(page.caller, page.read))
    cards = "".join(_card(c, page) for c in result.cards) + _tightest(result.tightest, page)
    csv = tag(
        "a", "CSV", href=page.api("/overview", ("format", "csv")), data_download="overview.csv", class_="csv"
    )
    head = tag("div", tag("h2", "At a glance") + csv, class_="panel-head")
    return head + tag("div", cards, class_="cards") + basis_line(result.basis) + _hidden_total(result)


def _hidden_total(result: OverviewResult) -> str:
    """The month's total as text for screen readers."""
    month = result.card("this-month")
    return tag("p", esc(f"This month so far: {usd(month.totals.cost)}"), class_="sr-only")
