"""One session in detail: its calls in order (time, model, status, cost, provider and request ids), tokens
and cost by slice; failures stand out."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from costwarden.dashboard.context import PageQuery
from costwarden.dashboard.html import amount, count, esc, tag, when
from costwarden.reports.session import SLICES
from costwarden.server.errors import ApiError
from costwarden.views.session import SessionQuery, SessionUnavailable, session_view

__all__ = ["session_panel"]


def session_panel(page: PageQuery, session: str) -> str:
    try:
        result = session_view(page.warden, SessionQuery(session=session))
    except SessionUnavailable as exc:
        raise ApiError(404, "not_found", str(exc), parameter="session") from None
    detail = result.detail
    projects: list[str | None] = list(detail.projects) or [None]
    if page.caller.restricted and not all(page.caller.sees(p) for p in projects):
        raise ApiError(404, "not_found", f"session {session!r}: no events", parameter="session")
    t = detail.totals
    close = tag("button", "Close", type="button", class_="close", data_close_session="1")
    csv = tag(
        "a",
        "CSV",
        href=f"/api/v1/usage?period=all&session={quote(session)}&limit=1000&format=csv",
        data_download=f"session-{session}.csv",
        class_="csv",
    )
    head = tag("div", tag("h2", f"Session {esc(session)}") + csv + close, class_="panel-head")
    facts = tag(
        "p",
        esc(
            f"{', '.join(detail.projects) or 'no project'} · {', '.join(detail.agents) or 'no agent'} · "
            f"{', '.join(detail.models)}"
        )
        + f" · {when(detail.started, page.tz)} → {when(detail.ended, page.tz)} · "
        + f"{amount(t.cost, inexact=t.unpriced_events > 0)} over {t.events:,} calls"
        + (f", {t.error_events:,} failed" if t.error_events else ""),
        class_="muted",
        data_field="session-total",
    )
    slices = "".join(
        tag(
            "tr",
            tag("th", esc(label), scope="row")
            + tag("td", count(getattr(t, field)))
            + tag("td", amount(detail.slice_cost.get(key, Decimal(0)))),
        )
        for label, field, key in SLICES
        if getattr(t, field) or key in detail.slice_cost
    )
    slice_table = tag(
        "table",
        tag("thead", tag("tr", "".join(tag("th", h, scope="col") for h in ("Slice", "Tokens", "Cost"))))
        + tag("tbody", slices),
        class_="data slices",
    )
    calls = "".join(
        tag(
            "tr",
            tag("td", when(c.occurred_at, page.tz))
            + tag("td", esc(f"{c.provider} / {c.model}"))
            + tag("td", esc(c.status), class_="status" + (" failed" if c.status != "ok" else ""))
            + tag("td", count(c.input_tokens))
            + tag("td", count(c.output_tokens))
            + tag("td", "—" if c.duration_ms is None else esc(f"{c.duration_ms / 1000:.1f} s"))
            + tag("td", amount(c.cost))
            + tag("td", tag("code", esc(c.provider_response_id or "—")))
            + tag("td", tag("code", esc(c.provider_request_id or "—"))),
            data_call=c.id,
            class_="failed" if c.status != "ok" else None,
        )
        for c in detail.calls
    )
    call_table = tag(
        "table",
        tag(
            "thead",
            tag(
                "tr",
                "".join(
                    tag("th", h, scope="col")
                    for h in (
                        "Time",
                        "Model",
                        "Status",
                        "In",
                        "Out",
                        "Duration",
                        "Cost",
                        "Response id",
                        "Request id",
                    )
                ),
            ),
        )
        + tag("tbody", calls),
        class_="data calls",
    )
    return (
        head
        + facts
        + tag("div", slice_table, class_="table-box")
        + tag("div", call_table, class_="table-box")
    )
