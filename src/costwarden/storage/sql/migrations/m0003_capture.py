"""Capture: `provider_quotas` (latest rate-limit quota per provider) and `import_offsets` (how far each
log file was imported). Spelled out as shipped; see `costwarden.storage.sql.capture_store`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

__all__ = ["NAME", "upgrade"]

NAME = "m0003_capture"


def _text() -> TypeEngine[str]:
    return Text().with_variant(Text(collation="C"), "postgresql")


def upgrade(conn: Connection) -> None:
    meta = MetaData()
    quotas = Table(
        "provider_quotas",
        meta,
        Column(
            "provider", String(255).with_variant(String(255, collation="C"), "postgresql"), nullable=False
        ),
        Column("observed_at", BigInteger, nullable=False),
        Column("model", _text(), nullable=True),
        Column("status_code", Integer, nullable=True),
        Column("retry_after_ms", BigInteger, nullable=True),
        Column("windows", Text(), nullable=False),
        Column("headers", Text(), nullable=False),
        PrimaryKeyConstraint("provider", name="pk_provider_quotas"),
    )
    offsets = Table(
        "import_offsets",
        meta,
        Column("source", String(32), nullable=False),
        Column("path", _text(), nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("mtime_ns", BigInteger, nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("lines", BigInteger, nullable=False),
        Column("state", Text(), nullable=True),
        Column("updated_at", BigInteger, nullable=False),
        PrimaryKeyConstraint("source", "path", name="pk_import_offsets"),
    )
    quotas.create(conn)
    offsets.create(conn)
