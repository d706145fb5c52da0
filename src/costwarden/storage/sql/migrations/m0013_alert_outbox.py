"""The alert outbox: `alert_outbox` (one row per alert and channel, written with the alert), `alert_attempts`
(every attempt at delivering one), `alert_channels` (channels set from the CLI) and `alert_channel_health`
(consecutive failures per channel). Spelled out as shipped; see `costwarden.storage.sql.outbox_store`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["NAME", "upgrade"]

NAME = "m0013_alert_outbox"


def upgrade(conn: Connection) -> None:
    meta = MetaData()
    row_id = BigInteger().with_variant(Integer(), "sqlite")
    name = String(64).with_variant(String(64, collation="C"), "postgresql")
    outbox = Table(
        "alert_outbox",
        meta,
        Column("id", row_id, primary_key=True, autoincrement=True),
        Column("message_id", String(64), nullable=False),
        Column("alert_id", BigInteger, nullable=False),
        Column("channel", name, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", BigInteger, nullable=False),
        Column("lease_owner", String(128), nullable=True),
        Column("lease_until", BigInteger, nullable=True),
        Column("last_error", Text(), nullable=True),
        Column("finished_at", BigInteger, nullable=True),
        UniqueConstraint("message_id", name="uq_alert_outbox_message"),
        UniqueConstraint("alert_id", "channel", name="uq_alert_outbox_alert_channel"),
    )
    Index("ix_alert_outbox_due", outbox.c.status, outbox.c.next_attempt_at)
    Index("ix_alert_outbox_channel", outbox.c.channel, outbox.c.finished_at)
    attempts = Table(
        "alert_attempts",
        meta,
        Column("id", row_id, primary_key=True, autoincrement=True),
        Column("outbox_id", BigInteger, nullable=False),
        Column("attempt", Integer, nullable=False),
        Column("at", BigInteger, nullable=False),
        Column("ok", Integer, nullable=False),
        Column("outcome", String(64), nullable=False),
        Column("detail", Text(), nullable=True),
        Column("duration_ms", Integer, nullable=False),
        Column("worker", String(128), nullable=False),
    )
    Index("ix_alert_attempts_outbox", attempts.c.outbox_id)
    Table(
        "alert_channels",
        meta,
        Column("name", name, nullable=False),
        Column("definition", Text(), nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        PrimaryKeyConstraint("name", name="pk_alert_channels"),
    )
    Table(
        "alert_channel_health",
        meta,
        Column("channel", name, nullable=False),
        Column("failures", Integer, nullable=False),
        Column("failing_since", BigInteger, nullable=True),
        Column("alerted", Integer, nullable=False),
        PrimaryKeyConstraint("channel", name="pk_alert_channel_health"),
    )
    meta.create_all(conn)
