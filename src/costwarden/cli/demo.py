"""`costwarden demo`: a simulated fleet through the real Warden, then the report, budgets, alerts and
insights it produced."""

from __future__ import annotations

from typing import Annotated

import typer

from costwarden.cli.state import state_of

__all__ = ["register", "demo"]


def demo(
    ctx: typer.Context,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the simulation (same seed, same calls and costs).")
    ] = 42,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Ledger to run into (default: a fresh demo.db in the user data dir)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Skip the per-call log; show only the results.")
    ] = False,
) -> None:
    """Run a SIMULATED fleet (several projects, agents and models, a fake provider on 127.0.0.1) through
    costwarden's budgets: a warning, a block, a terminated run and a fallback to a local model.

    No real API is called and no real money is spent.
    """
    from costwarden.demo.runner import run_demo

    state = state_of(ctx)
    run_demo(state.console, seed=seed, database=db or state.db, quiet=quiet, clock=state.clock)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
