"""The rollup tables on the ledger's `MetaData` (created by migrations `m0004_rollups`,
`m0005_rollup_totals` and `m0014_retired_events`; `costwarden.storage.sql.rollup_store` reads and maintains
them)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, String, Table

from costwarden.core.usage import ATTRIBUTION_FIELDS
from costwarden.storage.sql.schema import id_type, metadata, text_type

__all__ = [
    "DIMENSIONS",
    "TOTALS_DIMENSIONS",
    "SUMS",
    "TABLES",
    "DIMS_OF",
    "rollups",
    "rollup_totals",
    "rollup_state",
    "retired_events",
]

# Dimension columns of a rollup row (event field names, `user` stored as `user_name`).
DIMENSIONS: Final[tuple[str, ...]] = (
    *("user_name" if name == "user" else name for name in ATTRIBUTION_FIELDS),
    "provider",
    "model",
    "status",
    "source",
    "cost_source",
    "tags",
)
SUMS: Final[tuple[str, ...]] = (
    "events",
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
    "cost_units",
    "unpriced_events",
    "unpriced_units",
    "error_events",
)


def _rollup_table(name: str, dimensions: tuple[str, ...]) -> Table:
    """A table of sums per level, bucket and dimensions (`rollups`, `rollup_totals`), with its index."""
    table = Table(
        name,
        metadata,
        Column("level", String(5), nullable=False),
        Column("bucket_start", BigInteger, nullable=False),
        Column("dims_key", text_type(), nullable=False),
        Column("bucket_end", BigInteger, nullable=False),
        Column("label", String(13), nullable=False),
        *(Column(dim, text_type(), nullable=False) for dim in dimensions),
        *(Column(sum_, BigInteger, nullable=False) for sum_ in SUMS),
        PrimaryKeyConstraint("level", "bucket_start", "dims_key", name=f"pk_{name}"),
    )
    Index(f"ix_{name}_bucket_start", table.c.bucket_start)
    return table


rollups = _rollup_table("rollups", DIMENSIONS)
Index("ix_rollups_session", rollups.c.session)  # a session's totals without a scan of every row

# The dimensions of `rollup_totals` (a subset of DIMENSIONS).
TOTALS_DIMENSIONS: Final[tuple[str, ...]] = (
    "project",
    "agent",
    "user_name",
    "plan",
    "task_type",
    "provider",
    "model",
    "status",
    "source",
    "cost_source",
)
rollup_totals = _rollup_table("rollup_totals", TOTALS_DIMENSIONS)
TABLES: Final[tuple[Table, ...]] = (rollups, rollup_totals)
DIMS_OF: Final[dict[str, tuple[str, ...]]] = {"rollups": DIMENSIONS, "rollup_totals": TOTALS_DIMENSIONS}

rollup_state = Table(
    "rollup_state",
    metadata,
    Column("id", Integer, nullable=False),
    Column("events_before", BigInteger, nullable=True),
    Column("hourly_before", BigInteger, nullable=True),
    Column("daily_before", BigInteger, nullable=True),
    Column("monthly_before", BigInteger, nullable=True),
    Column("timezone", String(64), nullable=True),
    PrimaryKeyConstraint("id", name="pk_rollup_state"),
)

# The ids of events `maintain` deleted (their sums live on in the rollups): a trigger keeps them out of
# `events`, so the same id recorded again is not a second event (migration `m0014_retired_events`).
retired_events = Table(
    "retired_events",
    metadata,
    Column("id", id_type(), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_retired_events"),
    sqlite_with_rowid=False,
)
Index("ix_retired_events_occurred_at", retired_events.c.occurred_at)
