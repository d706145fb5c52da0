"""Reservation journal: `budget_reservations.counted` tells whether a reservation's holds are counted in
`budget_counters` (1: held on the SQL counters) or only recorded (0: held in Redis, kept here so that
a Redis that lost its data, or the SQL counters during a Redis outage, get it back).

Rows stored before are held on the SQL counters: they get 1.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0010_reservation_journal"


def upgrade(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE budget_reservations ADD COLUMN counted INTEGER NOT NULL DEFAULT 1")
