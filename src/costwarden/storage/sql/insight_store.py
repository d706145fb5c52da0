"""Dismissed insights: which suggestions a user has dismissed, remembered in the ledger database
(table `insight_dismissals`, created by migration `m0004_rollups`) so every host sees the same list.

The protocol and the in-memory double are in `costwarden.storage.dismissals`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Engine, PrimaryKeyConstraint, String, Table, delete, select

from costwarden.clock import default_now
from costwarden.storage.codec import from_micros, to_micros
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.schema import metadata, text_type

__all__ = ["insight_dismissals", "SqlDismissals"]

insight_dismissals = Table(
    "insight_dismissals",
    metadata,
    Column("insight_id", String(64), nullable=False),
    Column("dismissed_at", BigInteger, nullable=False),
    Column("title", text_type(), nullable=True),
    PrimaryKeyConstraint("insight_id", name="pk_insight_dismissals"),
)


class SqlDismissals:
    """Dismissals in the ledger database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def dismissed(self) -> dict[str, datetime]:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(insight_dismissals.c.insight_id, insight_dismissals.c.dismissed_at)
            ).all()
        return {str(i): from_micros(int(at)) for i, at in rows}

    def dismiss(self, insight_id: str, title: str | None = None, at: datetime | None = None) -> bool:
        moment = to_micros(at or default_now())
        with write_transaction(self.engine) as conn:
            found = conn.execute(
                select(insight_dismissals.c.insight_id).where(insight_dismissals.c.insight_id == insight_id)
            ).first()
            if found is not None:
                return False
            conn.execute(
                insight_dismissals.insert().values(insight_id=insight_id, dismissed_at=moment, title=title)
            )
        return True

    def restore(self, insight_id: str) -> bool:
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                delete(insight_dismissals).where(insight_dismissals.c.insight_id == insight_id)
            )
        return bool(result.rowcount)
