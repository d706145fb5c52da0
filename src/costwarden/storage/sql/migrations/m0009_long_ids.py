"""Long ids: `events.given_id` keeps an id longer than 255 characters as it was given.

Such an id is stored as its hash (`costwarden.core.usage.event_key`: the first 190 characters, `~` and the
SHA-256 of the whole id) instead of being cut to 255 characters, where ids that differ only after that point
collided into one event. Nothing stored before changes: those ids were already 255 characters or fewer.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0009_long_ids"


def upgrade(conn: Connection) -> None:
    column = "TEXT" if conn.dialect.name == "sqlite" else 'TEXT COLLATE "C"'
    conn.exec_driver_sql(f"ALTER TABLE events ADD COLUMN given_id {column}")
