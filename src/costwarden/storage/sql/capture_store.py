"""SQL for capture: how far each log file was imported (quota readings: `quota_store`).

Tables (created by migration `m0003_capture`):

- `import_offsets`: one row per (importer, file): the byte position read to (always at a line end), the
  file's size and modification time then, a fingerprint of its first bytes (to notice a file replaced or
  truncated), the lines read, and per-file importer state (e.g. Codex's model and running totals) as JSON.
"""

from __future__ import annotations

import json

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    select,
)

from costwarden.storage.codec import now_micros
from costwarden.storage.offsets import FileOffset, StoredSnapshot
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.schema import events, metadata, text_type, upsert

__all__ = [
    "import_offsets",
    "SqlOffsetStore",
    "stored_snapshots",
]

import_offsets = Table(
    "import_offsets",
    metadata,
    Column("source", String(32), nullable=False),
    Column("path", text_type(), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("state", Text(), nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("source", "path", name="pk_import_offsets"),
)


class SqlOffsetStore:
    """`OffsetStore` on the ledger's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, source: str, path: str) -> FileOffset | None:
        stmt = select(import_offsets).where(import_offsets.c.source == source, import_offsets.c.path == path)
        with read_transaction(self._engine) as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            return None
        return FileOffset(
            source=row["source"],
            path=row["path"],
            position=int(row["position"]),
            size=int(row["size"]),
            mtime_ns=int(row["mtime_ns"]),
            fingerprint=row["fingerprint"],
            lines=int(row["lines"]),
            state=json.loads(row["state"]) if row["state"] else None,
        )

    def put(self, offset: FileOffset) -> None:
        values = {
            "source": offset.source,
            "path": offset.path,
            "position": offset.position,
            "size": offset.size,
            "mtime_ns": offset.mtime_ns,
            "fingerprint": offset.fingerprint,
            "lines": offset.lines,
            "state": json.dumps(offset.state, separators=(",", ":")) if offset.state is not None else None,
            "updated_at": now_micros(),
        }
        stmt = upsert(self._engine.dialect.name, import_offsets).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[import_offsets.c.source, import_offsets.c.path],
            set_={k: stmt.excluded[k] for k in values if k not in ("source", "path")},
        )
        with write_transaction(self._engine) as conn:
            conn.execute(stmt)

    def forget(self, source: str, path: str | None = None) -> int:
        """Drop the offsets of one file (or of every file of `source`); returns how many."""
        stmt = import_offsets.delete().where(import_offsets.c.source == source)
        if path is not None:
            stmt = stmt.where(import_offsets.c.path == path)
        with write_transaction(self._engine) as conn:
            return int(conn.execute(stmt).rowcount or 0)


_IDS_PER_QUERY = 500


def stored_snapshots(engine: Engine, ids: list[str]) -> dict[str, StoredSnapshot]:
    """The stored snapshot of each of `ids` that the ledger holds (one read transaction)."""
    found: dict[str, StoredSnapshot] = {}
    columns = (events.c.id, events.c.total_tokens, events.c.occurred_at, events.c.cost_units)
    with read_transaction(engine) as conn:
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            for row in conn.execute(select(*columns).where(events.c.id.in_(chunk))):
                found[row[0]] = StoredSnapshot(int(row[1]), int(row[2]), int(row[3]))
    return found
