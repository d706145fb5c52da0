"""`costwarden export`: every event of a range, with every field, as CSV or JSON."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from costwarden.cli.render import event_to_json
from costwarden.cli.reporting import (
    NO_PERIOD,
    PeriodFlags,
    WhereOpt,
    parse_where,
    period_options,
)
from costwarden.cli.state import state_of
from costwarden.core.usage import UsageEvent
from costwarden.reports.export import write_events
from costwarden.storage.ledger import EventQuery

__all__ = ["register", "export", "ExportFormat"]


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"


@period_options()
def export(
    ctx: typer.Context,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="csv, json (an array) or jsonl.")
    ] = ExportFormat.CSV,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.")
    ] = None,
    period_flags: PeriodFlags = NO_PERIOD,
    where: WhereOpt = None,
) -> None:
    """Export events (default: all retained events), oldest first.

    Events older than the detailed retention exist only as totals and are not exported.
    """
    state = state_of(ctx)
    period = period_flags.resolve(state.settings.tz, default="all", at=state.clock.now())
    query = EventQuery(
        start=None if period.is_unbounded and period_flags.start is None else period.start,
        end=None if period.is_unbounded and period_flags.end is None else period.end,
        where=parse_where(where, state.warden.pricebook.canonical),
    )
    events = state.warden.ledger.events(query)
    if output is None:
        count = write_events(events, fmt.value, sys.stdout, event_to_json)
        sys.stdout.flush()
    else:
        if state.err.is_terminal:
            events = _counted(events, state.err)
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = write_events(events, fmt.value, handle, event_to_json)
        state.err.print(f"Exported {count} event(s) to {output}", markup=False)


def _counted(events: Iterator[UsageEvent], console: Console) -> Iterator[UsageEvent]:
    """Pass the events through, with a live count on the terminal."""
    with console.status("Exporting...") as status:
        for n, event in enumerate(events, 1):
            if n % 1000 == 0:
                status.update(f"Exporting... {n:,} events")
            yield event


def register(app: typer.Typer) -> None:
    app.command("export")(export)
