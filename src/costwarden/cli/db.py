"""`costwarden db`: the database itself."""

from __future__ import annotations

import typer

from costwarden.cli.state import state_of
from costwarden.core.redact import mask_url

__all__ = ["register"]

db_app = typer.Typer(help="The ledger database.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Create the ledger or apply pending migrations."""
    from costwarden.storage.backend import MEMORY_URL
    from costwarden.storage.sql.ledger import open_ledger

    state = state_of(ctx)
    url = state.settings.database
    assert url is not None
    if url.strip().lower() == MEMORY_URL:
        state.console.print("A ledger in memory (memory://) has no schema to create or upgrade.")
        return
    ledger = open_ledger(url, create=True, upgrade=False)
    try:
        applied = ledger.upgrade()
    finally:
        ledger.close()
    if applied:
        state.console.print(f"Applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        state.console.print("The database is up to date.")
    state.console.print(f"Database: {mask_url(url)}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
