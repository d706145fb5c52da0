"""Provider ids: `events.provider_response_id` and `events.provider_request_id`, each indexed.

A wrapped call's event gets its own generated id; what the provider said about the call (its response id,
`chatcmpl-...` / `msg_...`, and its request id header) is kept in these columns, searchable, never the key:
servers reuse response ids. Events stored before keep what they had (a wrapped call's event id was then the
provider's response id); the new columns are NULL for them.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0008_provider_ids"


def upgrade(conn: Connection) -> None:
    column = "TEXT" if conn.dialect.name == "sqlite" else 'TEXT COLLATE "C"'
    for name in ("provider_response_id", "provider_request_id"):
        conn.exec_driver_sql(f"ALTER TABLE events ADD COLUMN {name} {column}")
        conn.exec_driver_sql(f"CREATE INDEX ix_events_{name} ON events ({name})")
