"""Alert acknowledgements: the `alert_acks` table (one row per acknowledged alert of `budget_alerts`: when,
by whom, an optional note). The first acknowledgement of an alert is the one kept.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0017_alert_acks"


def upgrade(conn: Connection) -> None:
    text = "TEXT" if conn.dialect.name == "sqlite" else 'TEXT COLLATE "C"'
    conn.exec_driver_sql(
        f"""
        CREATE TABLE alert_acks (
            alert_id BIGINT NOT NULL,
            acknowledged_at BIGINT NOT NULL,
            acknowledged_by {text} NOT NULL,
            note {text},
            CONSTRAINT pk_alert_acks PRIMARY KEY (alert_id)
        )
        """
    )
