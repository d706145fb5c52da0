"""Rollups by session: an index on `rollups.session`, so a session's totals (the statusline's session cost,
a session budget, `report --session`) read that session's rollup rows instead of scanning every row of
the ledger's history (~0.3 s on a ledger of 1M events, a few ms with the index)."""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0019_rollups_by_session"


def upgrade(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE INDEX ix_rollups_session ON rollups (session)")
