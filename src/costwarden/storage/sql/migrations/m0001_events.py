"""The `events` table and its indexes.

The table is spelled out here as it was when this migration shipped (not taken from `schema.py`), so
later schema changes stay explicit in their own migrations.
"""

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
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["NAME", "upgrade"]

NAME = "m0001_events"


def _text() -> Text:
    return Text().with_variant(Text(collation="C"), "postgresql")


def upgrade(conn: Connection) -> None:
    counts = (
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "reasoning_tokens",
        "requests",
        "web_search_requests",
    )
    who = ("project", "agent", "session", "run", "task", "task_type", "plan", "user_name")
    events = Table(
        "events",
        MetaData(),
        Column("id", String(255).with_variant(String(255, collation="C"), "postgresql"), nullable=False),
        Column("occurred_at", BigInteger, nullable=False),
        Column("provider", _text(), nullable=False),
        Column("model", _text(), nullable=False),
        *(Column(name, BigInteger, nullable=False) for name in counts),
        Column("total_tokens", BigInteger, nullable=False),
        *(Column(name, _text(), nullable=True) for name in who),
        Column("tags", Text().with_variant(JSONB(), "postgresql"), nullable=True),
        Column("source", _text(), nullable=False),
        Column("status", _text(), nullable=False),
        Column("duration_ms", BigInteger, nullable=True),
        Column("service_tier", _text(), nullable=True),
        Column("provider_cost_units", BigInteger, nullable=True),
        Column("cost_units", BigInteger, nullable=False),
        Column("cost_source", _text(), nullable=False),
        Column("price_ref", _text(), nullable=True),
        Column("cost_slices", Text(), nullable=True),
        Column("recorded_at", BigInteger, nullable=False),
        Column("revision", Integer, nullable=False),
        PrimaryKeyConstraint("id", name="pk_events"),
    )
    Index("ix_events_occurred_at", events.c.occurred_at)
    Index("ix_events_project_occurred_at", events.c.project, events.c.occurred_at)
    Index("ix_events_agent_occurred_at", events.c.agent, events.c.occurred_at)
    Index("ix_events_session", events.c.session)
    Index("ix_events_model", events.c.model)
    events.create(conn)
