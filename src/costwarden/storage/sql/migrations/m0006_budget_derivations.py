"""Derived counters: `budget_derivations` records, per budget and period instance, the definition (a
fingerprint) its counters were last derived from the ledger under. A counter whose period has no row, or a
row of another fingerprint, is derived again before it is used. Spelled out as shipped; see
`costwarden.storage.sql.budget_store`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, Text

__all__ = ["NAME", "upgrade"]

NAME = "m0006_budget_derivations"


def upgrade(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "budget_derivations",
        meta,
        Column("budget_id", Text().with_variant(Text(collation="C"), "postgresql"), nullable=False),
        Column("period_key", String(64), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("derived_at", BigInteger, nullable=False),
        PrimaryKeyConstraint("budget_id", "period_key", name="pk_budget_derivations"),
    ).create(conn)
