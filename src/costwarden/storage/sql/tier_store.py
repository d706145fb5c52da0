"""Cost tiers set from the CLI in the ledger database (table `cost_tiers`, created by migration
`m0018_cost_tiers`), so that every process on the database sees the same tiers. The protocol and the
in-memory double are in `costwarden.storage.tiers`."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    func,
    select,
)

from costwarden.storage.codec import now_micros
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.schema import metadata, text_type, upsert
from costwarden.storage.tiers import SavedTier

__all__ = ["cost_tiers", "SqlTierStore"]

cost_tiers = Table(
    "cost_tiers",
    metadata,
    Column("id", String(64), nullable=False),
    Column("definition", text_type(), nullable=False),
    Column("removed", Boolean, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_cost_tiers"),
)


def _tier(row: Any) -> SavedTier:
    return SavedTier(
        id=str(row.id),
        definition=dict(json.loads(row.definition)),
        removed=bool(row.removed),
        updated=int(row.updated_at) / 1e6,
    )


class SqlTierStore:
    """Saved tiers in the ledger database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def saved_tiers(self) -> list[SavedTier]:
        with read_transaction(self.engine) as conn:
            return [_tier(row) for row in conn.execute(select(cost_tiers).order_by(cost_tiers.c.id))]

    def tiers_version(self) -> str:
        with read_transaction(self.engine) as conn:
            count, latest = conn.execute(
                select(func.count(), func.max(cost_tiers.c.updated_at)).select_from(cost_tiers)
            ).one()
        return f"{int(count)}:{int(latest or 0)}"

    def save_tier(self, tier: SavedTier) -> None:
        values = {
            "id": tier.id,
            "definition": json.dumps(dict(tier.definition), sort_keys=True, default=str),
            "removed": tier.removed,
            "updated_at": now_micros(),
        }
        with write_transaction(self.engine) as conn:
            insert = upsert(conn.dialect.name, cost_tiers).values(**values)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[cost_tiers.c.id],
                    set_={name: insert.excluded[name] for name in ("definition", "removed", "updated_at")},
                )
            )

    def forget_tier(self, tier_id: str) -> bool:
        with write_transaction(self.engine) as conn:
            result = conn.execute(delete(cost_tiers).where(cost_tiers.c.id == tier_id))
        return bool(result.rowcount)
