"""API keys: the `api_keys` table (ids, hashes of the secrets, roles, project restrictions, gateway
attribution). Secrets are never stored.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0016_api_keys"


def upgrade(conn: Connection) -> None:
    text = "TEXT" if conn.dialect.name == "sqlite" else 'TEXT COLLATE "C"'
    conn.exec_driver_sql(
        f"""
        CREATE TABLE api_keys (
            id VARCHAR(64) NOT NULL,
            name {text} NOT NULL,
            role VARCHAR(16) NOT NULL,
            secret_hash VARCHAR(64) NOT NULL,
            projects {text} NOT NULL,
            agent {text},
            overrides {text} NOT NULL,
            details {text} NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT,
            CONSTRAINT pk_api_keys PRIMARY KEY (id)
        )
        """
    )
