"""Cost tiers set from the CLI: the `cost_tiers` table (a tier's id, the fields given as JSON, whether it
removes a built-in tier, when it was last changed).

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0018_cost_tiers"


def upgrade(conn: Connection) -> None:
    text = "TEXT" if conn.dialect.name == "sqlite" else 'TEXT COLLATE "C"'
    conn.exec_driver_sql(
        f"""
        CREATE TABLE cost_tiers (
            id VARCHAR(64) NOT NULL,
            definition {text} NOT NULL,
            removed BOOLEAN NOT NULL,
            updated_at BIGINT NOT NULL,
            CONSTRAINT pk_cost_tiers PRIMARY KEY (id)
        )
        """
    )
