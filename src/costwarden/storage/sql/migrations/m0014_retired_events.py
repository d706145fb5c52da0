"""Retired event ids: `retired_events` keeps the id (and time) of every event `costwarden maintain` deleted
from `events` after folding its sum into the rollups, and a trigger keeps such an id out of `events`.

Without it, the same id recorded again (`costwarden record --id X`, `Warden.record(id=X)`, a batch from
the caller's own code) found no row, was stored as a new late event and added to the rollups a second time
(migration `m0011_late_events`), and counted twice on budgets. Now the insert of a retired id is skipped
(SQLite: `RAISE(IGNORE)` in a BEFORE INSERT trigger; PostgreSQL: a BEFORE INSERT row trigger returning
NULL), so every write path treats it as an event already stored: one id, one event, also after retention.
A later snapshot of a retired id is skipped too: history before the retention cut is final.

Monthly retention (`drop_before`) forgets the ids of the history it drops. Events deleted before this
migration left no id behind: they cannot be recognised.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, Index, MetaData, PrimaryKeyConstraint, String, Table

__all__ = ["NAME", "upgrade"]

NAME = "m0014_retired_events"


def upgrade(conn: Connection) -> None:
    meta = MetaData()
    table = Table(
        "retired_events",
        meta,
        Column("id", String(255).with_variant(String(255, collation="C"), "postgresql"), nullable=False),
        Column("occurred_at", BigInteger, nullable=False),
        PrimaryKeyConstraint("id", name="pk_retired_events"),
        sqlite_with_rowid=False,
    )
    Index("ix_retired_events_occurred_at", table.c.occurred_at)
    meta.create_all(conn)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION costwarden_events_retired() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF EXISTS (SELECT 1 FROM retired_events WHERE id = NEW.id) THEN RETURN NULL; END IF; "
            "RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER events_retired_id BEFORE INSERT ON events FOR EACH ROW "
            "EXECUTE FUNCTION costwarden_events_retired()"
        )
    else:
        conn.exec_driver_sql(
            "CREATE TRIGGER events_retired_id BEFORE INSERT ON events "
            "WHEN EXISTS (SELECT 1 FROM retired_events WHERE id = NEW.id) BEGIN SELECT RAISE(IGNORE); END"
        )
