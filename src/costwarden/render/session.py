"""One session for people (`costwarden report --session`): the seed's layout as a Rich renderable."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from costwarden.core.money import format_usd
from costwarden.render.text import RULE, heading
from costwarden.reports.formats import usd
from costwarden.reports.session import SHOWN_CALLS, SLICES, SessionDetail

__all__ = ["session_renderable"]


def session_renderable(detail: SessionDetail, tz: ZoneInfo | None = None) -> RenderableType:
    """The seed's layout: header, token usage by slice with cost, calls, cost breakdown, efficiency."""
    t = detail.totals
    head = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("Project:", escape(", ".join(detail.projects)) or "(none)")
    if detail.agents:
        head.add_row("Agents:", escape(", ".join(detail.agents)))
    zone = tz or ZoneInfo("UTC")

    def when(at: datetime | None) -> str:
        return "-" if at is None else at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    head.add_row("Started:", when(detail.started))
    head.add_row("Ended:", when(detail.ended))
    minutes = int(detail.minutes)
    head.add_row("Duration:", f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m")
    head.add_row("Model:", escape(", ".join(detail.models)))

    usage = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    usage.add_column(style="bold")
    usage.add_column(justify="right")
    usage.add_column(justify="right")
    for label, token_field, slice_name in SLICES:
        count = getattr(t, token_field)
        if count or slice_name in detail.slice_cost:
            usage.add_row(
                f"{label}:", f"{count:,} tokens", f"({usd(detail.slice_cost.get(slice_name, Decimal(0)))})"
            )
    usage.add_row("Total:", f"{t.total_tokens:,} tokens", f"({usd(t.cost)})")

    calls = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    calls.add_column(style="bold")
    calls.add_column(justify="right")
    calls.add_row("Total calls:", f"{t.events:,}")
    calls.add_row("Failed calls:", f"{t.error_events:,}")
    calls.add_row("Average tokens/call:", f"{detail.per_call(t.total_tokens).quantize(Decimal(1)):,}")
    calls.add_row("Average cost/call:", usd(detail.per_call(t.cost)))

    breakdown = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    breakdown.add_column(style="bold")
    breakdown.add_column(justify="right")
    breakdown.add_column(justify="right")
    for name, amount in sorted(detail.slice_cost.items(), key=lambda kv: -kv[1]):
        pct = (amount * 100 / t.cost).quantize(Decimal(1)) if t.cost else Decimal(0)
        breakdown.add_row(f"{name.replace('_', ' ')}:", usd(amount), f"({pct}%)")
    breakdown.add_row("Total:", usd(t.cost), "")

    shown = detail.calls[-SHOWN_CALLS:]
    listing = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0))
    for column in ("time", "model", "cost", "status", "response id", "request id"):
        listing.add_column(column, justify="right" if column == "cost" else "left")
    for call in shown:
        listing.add_row(
            when(call.occurred_at),
            escape(call.model),
            usd(call.cost),
            call.status,
            escape(call.provider_response_id or "-"),
            escape(call.provider_request_id or "-"),
        )

    efficiency = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    efficiency.add_column(style="bold")
    efficiency.add_column(justify="right")
    efficiency.add_row("Tokens per minute:", f"{detail.tokens_per_minute:,}")
    efficiency.add_row("Cost per minute:", format_usd(detail.cost_per_minute, 4))
    parts: list[RenderableType] = [
        heading(f"Session: {detail.session}"),
        Text(RULE),
        head,
        Text(""),
        heading("TOKEN USAGE"),
        usage,
        Text(""),
        heading("API CALLS"),
        calls,
        Text(""),
        heading("COST BREAKDOWN"),
        breakdown,
        Text(""),
        heading("EFFICIENCY"),
        efficiency,
        Text(""),
        heading("CALLS" if len(shown) == len(detail.calls) else f"LAST {len(shown)} CALLS"),
        listing,
    ]
    if len(shown) < len(detail.calls):
        parts.append(
            Text(f"... and {len(detail.calls) - len(shown)} earlier call(s); --json lists every one.")
        )
    if t.unpriced_events:
        parts.append(
            Text(
                f"Note: {t.unpriced_events} call(s) are unpriced, counted at the fallback price "
                f"{usd(t.unpriced_cost)}."
            )
        )
    return Group(*parts)
