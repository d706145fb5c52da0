"""Budgets: counters, reservations, the alert feed, budgets set from the CLI. Spelled out as shipped; see
`costwarden.storage.sql.budget_store`."""

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
)

__all__ = ["NAME", "upgrade"]

NAME = "m0002_budgets"


def _text() -> Text:
    return Text().with_variant(Text(collation="C"), "postgresql")


def _string(length: int) -> String:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def upgrade(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "budget_counters",
        meta,
        Column("key", _string(512), nullable=False),
        Column("budget_id", _text(), nullable=False),
        Column("scope_key", _text(), nullable=False),
        Column("period_key", _text(), nullable=False),
        *(Column(f"spent_{d}", BigInteger, nullable=False) for d in ("cost", "tokens", "requests")),
        *(
            Column(f"reserved_{d}", BigInteger, nullable=False)
            for d in ("cost", "tokens", "requests", "concurrent")
        ),
        Column("terminated_at", BigInteger, nullable=True),
        Column("updated_at", BigInteger, nullable=False),
        PrimaryKeyConstraint("key", name="pk_budget_counters"),
        sqlite_with_rowid=False,
    )
    Table(
        "budget_reservations",
        meta,
        Column("id", _string(255), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("label", _text(), nullable=False),
        Column("holds", Text(), nullable=False),
        Column("deadline", BigInteger, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("pid", Integer, nullable=False),
        Column("host", _text(), nullable=False),
        PrimaryKeyConstraint("id", name="pk_budget_reservations"),
        sqlite_with_rowid=False,
    )
    alerts = Table(
        "budget_alerts",
        meta,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("at", BigInteger, nullable=False),
        Column("kind", String(32), nullable=False),
        Column("level", String(16), nullable=False),
        Column("budget_id", _text(), nullable=False),
        Column("scope", _text(), nullable=False),
        Column("period_key", _text(), nullable=False),
        Column("dimension", String(16), nullable=False),
        Column("threshold", String(16), nullable=True),
        Column("limit_units", BigInteger, nullable=False),
        Column("spent_units", BigInteger, nullable=False),
        Column("reserved_units", BigInteger, nullable=False),
        Column("requested_units", BigInteger, nullable=False),
        Column("resets_at", BigInteger, nullable=True),
        Column("message", Text(), nullable=False),
        Column("details", Text(), nullable=False),
        Column("dedupe", _string(512), nullable=True, unique=True),
    )
    Index("ix_budget_alerts_at", alerts.c.at)
    Table(
        "budget_definitions",
        meta,
        Column("id", _string(128), nullable=False),
        Column("definition", Text(), nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        PrimaryKeyConstraint("id", name="pk_budget_definitions"),
    )
    Table(
        "budget_meta",
        meta,
        Column("name", String(64), nullable=False),
        Column("value", Text(), nullable=False),
        PrimaryKeyConstraint("name", name="pk_budget_meta"),
    )
    meta.create_all(conn)
