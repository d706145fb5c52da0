"""`costwarden watch`: the running cost of a session, a run or today; `--statusline` for prompts."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from costwarden.cli.reporting import echo_json, usage_errors
from costwarden.cli.state import CliState, state_of
from costwarden.render.text import budget_table, print_wide, tokens, usd
from costwarden.reports.live import LiveStatus
from costwarden.views.live import LiveQuery, live_view
from costwarden.views.quota_status import quota_statusline

__all__ = ["register", "watch", "status_renderable"]


def status_renderable(status: LiveStatus) -> RenderableType:
    t = status.totals
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column(justify="right")
    scope = f" {status.scope[0]} {status.scope[1]}" if status.scope else ""
    table.add_row(f"{status.label}:", usd(t.cost))
    table.add_row("Tokens:", f"{t.total_tokens:,} ({tokens(t.total_tokens)})")
    table.add_row("Calls:", f"{t.events:,}" + (f" ({t.error_events} failed)" if t.error_events else ""))
    if status.last_event is not None:
        last = status.last_event
        table.add_row(
            "Last call:", escape(f"{last.occurred_at:%H:%M:%S} {last.model} {usd(last.cost_total)}")
        )
    parts: list[RenderableType] = [
        Text(f"costwarden watch{scope} - {status.at:%Y-%m-%d %H:%M:%S} UTC"),
        table,
    ]
    if status.budgets:
        parts += [Text(""), budget_table(status.budgets)]
    return Group(*parts)


def _status(state: CliState, query: LiveQuery) -> LiveStatus:
    return live_view(state.warden, query).status


@usage_errors
def watch(
    ctx: typer.Context,
    session: Annotated[str | None, typer.Option("--session", help="Watch one session.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Watch one agent run.")] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between refreshes.")] = 2.0,
    count: Annotated[
        int | None,
        typer.Option("--count", min=1, help="Stop after this many refreshes (default: until Ctrl-C)."),
    ] = None,
    as_statusline: Annotated[
        bool, typer.Option("--statusline", help="Print one short line for a shell prompt and exit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status once as JSON and exit.")] = False,
) -> None:
    """Running cost, tokens and budget remaining; refreshes until interrupted.

    Without --session or --run it watches today's spend.
    """
    state = state_of(ctx)
    query = LiveQuery(session=session, run=run)
    if as_statusline:
        line = live_view(state.warden, query).statusline
        quotas = quota_statusline(state.warden) if state.settings.subscriptions else ""
        typer.echo(f"{line} {quotas}" if quotas else line)
        return
    if as_json:
        echo_json(live_view(state.warden, query).to_json())
        return
    console = state.console
    done = 0
    try:
        if console.is_terminal:
            with Live(status_renderable(_status(state, query)), console=console, auto_refresh=False) as live:
                done = 1
                while count is None or done < count:
                    time.sleep(interval)
                    live.update(status_renderable(_status(state, query)), refresh=True)
                    done += 1
        else:
            while count is None or done < count:
                if done:
                    time.sleep(interval)
                print_wide(console, status_renderable(_status(state, query)))
                done += 1
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)
