"""`costwarden maintain`: apply retention (fold detail into daily and monthly totals), check and repair
the rollups."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer
from rich.table import Table

from costwarden.cli.reporting import echo_json
from costwarden.cli.state import state_of
from costwarden.reports.retention import apply_retention
from costwarden.storage.rollups import Rollups
from costwarden.views.maintenance import MAINTAIN_SCHEMA, retention_json, rollup_check

__all__ = ["register", "maintain"]


def _stats_table(store: Rollups) -> Table:
    table = Table(
        title="Rollups",
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold",
    )
    table.add_column("level")
    table.add_column("rows", justify="right")
    table.add_column("from")
    table.add_column("to")
    for level, (rows, first, last) in sorted(
        store.stats().items(), key=lambda kv: ("hour", "day", "month").index(kv[0])
    ):
        table.add_row(
            level,
            f"{rows:,}",
            f"{first:%Y-%m-%d %H:%M}" if first else "-",
            f"{last:%Y-%m-%d %H:%M}" if last else "-",
        )
    return table


def maintain(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what retention would do; change nothing.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Compare the hourly rollups with the retained events; exit 1 on a mismatch."
        ),
    ] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recompute the hourly rollups from the retained events first.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Apply the configured retention (`retention:` in the config file).

    Defaults: events 90 days, daily totals 365 days, monthly totals forever. Detail older than that is
    folded into daily and monthly totals first, so no report total changes.
    """
    state = state_of(ctx)
    store = state.warden.backend.rollups
    if store is None:
        state.err.print("This ledger keeps no rollups (an in-memory ledger): nothing to maintain.")
        raise typer.Exit(1)
    out: dict[str, Any] = {"schema": MAINTAIN_SCHEMA}
    if rebuild and not dry_run:
        out["rebuilt_hourly_rows"] = store.rebuild()
    if check:
        checked = rollup_check(state.warden)
        mismatches = checked.mismatches
        out.update(checked.to_json())
        if as_json:
            echo_json(out)
        elif mismatches:
            state.console.print(
                f"{len(mismatches)} hour(s) differ from their events; run `costwarden maintain --rebuild`."
            )
            for hour, a, b in mismatches[:20]:
                state.console.print(
                    f"  {hour}: rollups {a.events} events {a.cost}, events {b.events} events {b.cost}",
                    markup=False,
                )
        else:
            state.console.print("The rollups match the retained events.")
        if mismatches:
            raise typer.Exit(1)
        return
    spinner = (
        state.console.status("Applying retention...")
        if state.console.is_terminal and not as_json
        else contextlib.nullcontext()
    )
    with spinner:
        result = apply_retention(
            store, state.settings.retention, now=state.clock.now(), tz=state.settings.tz, dry_run=dry_run
        )
    out.update(retention_json(result))
    if as_json:
        echo_json(out)
        return
    console = state.console
    verb = "Would" if dry_run else "Did"
    if "rebuilt_hourly_rows" in out:
        console.print(f"Rebuilt {out['rebuilt_hourly_rows']:,} hourly rollup rows from the events.")
    plan = result.plan
    console.print(f"Retention ({plan.timezone}):")
    console.print(
        f"  events before {plan.events_before:%Y-%m-%d} -> daily totals"
        if plan.events_before
        else "  events: kept forever"
    )
    if plan.months_before:
        console.print(f"  daily totals before {plan.months_before:%Y-%m-%d} -> monthly totals")
    if plan.drop_before:
        console.print(f"  monthly totals before {plan.drop_before:%Y-%m-%d} -> forgotten")
    console.print(
        f"{verb} delete {result.events_deleted:,} event(s), fold {result.hourly_folded:,} hourly and "
        f"{result.daily_folded:,} daily row(s), drop {result.rows_dropped:,} row(s).",
        markup=False,
    )
    for note in result.notes:
        console.print(f"Note: {note}", markup=False)
    console.print(_stats_table(store))


def register(app: typer.Typer) -> None:
    app.command("maintain")(maintain)
