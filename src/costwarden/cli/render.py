"""Turning events into JSON (stable schema, money as decimal strings) and into Rich output."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from costwarden.core.money import format_usd
from costwarden.core.usage import ATTRIBUTION_FIELDS, TOKEN_FIELDS, UsageEvent
from costwarden.reports.export import event_to_json
from costwarden.reports.formats import money

__all__ = ["money_str", "event_to_json", "print_event"]


def money_str(amount: Decimal) -> str:
    """Exact decimal string for JSON/CSV (`reports.formats.money`): no exponent, at least two decimals."""
    return money(amount)


def print_event(console: Console, event: UsageEvent) -> None:
    """A compact human view of one stored event."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", event.id)
    table.add_row("when", event.occurred_at.isoformat())
    table.add_row("model", f"{event.provider}/{event.model}")
    if event.names_given != (event.provider, event.model):
        table.add_row("given as", "/".join(event.names_given))
    if event.provider_response_id:
        table.add_row("response id", event.provider_response_id)
    if event.provider_request_id:
        table.add_row("request id", event.provider_request_id)
    for name in TOKEN_FIELDS:
        value = getattr(event.usage, name)
        if value and name != "requests":
            table.add_row(name.replace("_", " "), f"{value:,}")
    for name in ATTRIBUTION_FIELDS:
        value = getattr(event.attribution, name)
        if value:
            table.add_row(name, value)
    for key, value in event.attribution.tags.items():
        table.add_row(f"tag:{key}", value)
    cost = event.cost
    if cost is not None:
        table.add_row("cost", f"{format_usd(cost.total, 6)} ({cost.source.value})")
        if cost.price_ref:
            table.add_row("priced by", cost.price_ref)
    console.print(table)
