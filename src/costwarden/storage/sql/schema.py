"""The ledger's tables on one `MetaData`, and the SQL expressions that group and filter events.

These `Table`s describe the *current* schema and are what queries are built from. Migrations never call
`metadata.create_all()`: each one states its own DDL (see `costwarden.storage.sql.migrations`), and a test
checks that a blank database migrated to the end matches the tables here. Other stores put their tables on the
same `metadata` and create them from their own migration modules.

Decisions (see docs/storage.md):
- `occurred_at` / `recorded_at` are BIGINT microseconds since the Unix epoch, UTC: exact (Python's own
  resolution), identical on both backends, 8 bytes, and range scans and hour/day buckets are integer math.
- money is BIGINT in units of 10^-10 USD; sums are exact on both backends.
- tags live in the row as a JSON object (TEXT with `json_extract` on SQLite, JSONB with `->>` on PostgreSQL):
  one row per event keeps appends to a single insert.
- text columns use the "C" collation on PostgreSQL: byte order, the same as SQLite and Python sort strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from costwarden.core.usage import ATTRIBUTION_FIELDS, TOKEN_FIELDS
from costwarden.storage.codec import INT_COLUMNS, ROW_COLUMNS

__all__ = [
    "metadata",
    "events",
    "migrations_table",
    "EVENT_INDEXES",
    "FIELD_COLUMNS",
    "GIVEN_FIELDS",
    "text_type",
    "id_type",
    "tags_type",
    "field_column",
    "tag_value",
    "time_bucket",
    "month_label",
    "upsert",
    "HOUR_US",
    "DAY_US",
    "WriteStatements",
]

HOUR_US: Final = 3_600_000_000
DAY_US: Final = 86_400_000_000

# Event fields whose column has another name (`user` is reserved in PostgreSQL).
FIELD_COLUMNS: Final[dict[str, str]] = {"user": "user_name"}


def text_type() -> TypeEngine[str]:
    """Unbounded text; byte-order ("C") collation on PostgreSQL."""
    return Text().with_variant(Text(collation="C"), "postgresql")


def id_type() -> TypeEngine[str]:
    return String(255).with_variant(String(255, collation="C"), "postgresql")


def tags_type() -> TypeEngine[Any]:
    """A JSON object of tag name -> value: TEXT on SQLite, JSONB on PostgreSQL."""
    return Text().with_variant(JSONB(), "postgresql")


metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", id_type(), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("provider", text_type(), nullable=False),
    Column("model", text_type(), nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in TOKEN_FIELDS),
    Column("total_tokens", BigInteger, nullable=False),
    *(Column(FIELD_COLUMNS.get(name, name), text_type(), nullable=True) for name in ATTRIBUTION_FIELDS),
    Column("tags", tags_type(), nullable=True),
    Column("source", text_type(), nullable=False),
    Column("status", text_type(), nullable=False),
    Column("duration_ms", BigInteger, nullable=True),
    Column("service_tier", text_type(), nullable=True),
    Column("provider_cost_units", BigInteger, nullable=True),
    Column("cost_units", BigInteger, nullable=False),
    Column("cost_source", text_type(), nullable=False),
    Column("price_ref", text_type(), nullable=True),
    Column("cost_slices", Text(), nullable=True),
    Column("recorded_at", BigInteger, nullable=False),
    Column("revision", Integer, nullable=False),
    # the provider and model as the caller named them, where they differ from the canonical `provider` and
    # `model` (NULL: the same); see `given_column`
    Column("given_provider", text_type(), nullable=True),
    Column("given_model", text_type(), nullable=True),
    # what the provider said about the call (its response id, its request id header): kept for search,
    # never the key (servers reuse them)
    Column("provider_response_id", text_type(), nullable=True),
    Column("provider_request_id", text_type(), nullable=True),
    # an id longer than 255 characters as given (`id` holds its hash, see `core.usage.event_key`)
    Column("given_id", text_type(), nullable=True),
    PrimaryKeyConstraint("id", name="pk_events"),
)

EVENT_INDEXES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("ix_events_occurred_at", ("occurred_at",)),
    ("ix_events_project_occurred_at", ("project", "occurred_at")),
    ("ix_events_agent_occurred_at", ("agent", "occurred_at")),
    ("ix_events_session", ("session",)),
    ("ix_events_model", ("model",)),
    ("ix_events_provider_response_id", ("provider_response_id",)),
    ("ix_events_provider_request_id", ("provider_request_id",)),
)
for _name, _columns in EVENT_INDEXES:
    Index(_name, *(events.c[c] for c in _columns))
del _name, _columns

migrations_table = Table(
    "costwarden_migrations",
    metadata,
    Column("name", String(255), nullable=False),
    Column("applied_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("name", name="pk_costwarden_migrations"),
)


GIVEN_FIELDS: Final[dict[str, str]] = {"given_provider": "provider", "given_model": "model"}
"""Fields holding the names a caller gave, and the canonical column that stands in where they are NULL."""


def field_column(name: str) -> ColumnElement[Any]:
    """The `events` column of an event field (`user` -> `user_name`); `given_provider` / `given_model`
    fall back to the canonical name where the caller gave that one."""
    canonical = GIVEN_FIELDS.get(name)
    if canonical is not None:
        return func.coalesce(events.c[name], events.c[canonical])
    return events.c[FIELD_COLUMNS.get(name, name)]


def _sqlite_path_safe(name: str) -> bool:
    return '"' not in name and "\\" not in name and all(ch >= " " for ch in name)


def tag_value(dialect: str, name: str) -> ColumnElement[Any]:
    """The value of tag `name` (NULL when absent) as a SQL expression."""
    if dialect == "postgresql":
        value: ColumnElement[Any] = type_coerce(events.c.tags, JSONB)[name].astext
        return value
    if _sqlite_path_safe(name):
        return func.json_extract(events.c.tags, f'$."{name}"')
    # A JSON path cannot quote every label: look the key up instead (slower, always exact).
    each = func.json_each(events.c.tags).table_valued("key", "value")
    return select(each.c.value).where(each.c.key == name).scalar_subquery()


def _floor_div(value: ColumnElement[int], divisor: int) -> ColumnElement[int]:
    # Both backends truncate integer division towards zero; shift negatives so buckets floor.
    d = literal_column(str(divisor), BigInteger)
    return (value - (value % d + d) % d) // d


def time_bucket(unit_us: int) -> ColumnElement[int]:
    """The index of the UTC hour/day (`unit_us` long) an event occurred in, counted from the epoch."""
    return _floor_div(events.c.occurred_at, unit_us)


def upsert(dialect: str, table: Table) -> Any:
    """An `INSERT` into `table` that takes the dialect's `ON CONFLICT` clauses (`on_conflict_do_update`,
    `on_conflict_do_nothing`, `excluded`): SQLite and PostgreSQL spell them alike."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def month_label(dialect: str) -> ColumnElement[str]:
    """`YYYY-MM` (UTC) of an event."""
    seconds = _floor_div(events.c.occurred_at, 1_000_000)
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), func.to_timestamp(seconds))
        return func.to_char(utc, literal_column("'YYYY-MM'"))
    return func.strftime(literal_column("'%Y-%m'"), seconds, literal_column("'unixepoch'"))


def _stage_type(column: str) -> str:
    return "bigint" if column in INT_COLUMNS else 'text COLLATE "C"'


class WriteStatements:
    """The SQL text that writes encoded rows (`codec.ROW_COLUMNS` order) into `events`, for one dialect
    (`?` placeholders on SQLite, `%s` on psycopg). Every insert is the idempotent upsert: a stored id is
    only overwritten by a higher snapshot `(total_tokens, occurred_at)`, and then its revision goes up."""

    def __init__(self, dialect: str, quote: Callable[[str], str], rows_per_block: int) -> None:
        mark = "?" if dialect == "sqlite" else "%s"
        cols = ", ".join(quote(c) for c in ROW_COLUMNS)
        one = ", ".join(
            f"{mark}::jsonb" if dialect != "sqlite" and c == "tags" else mark for c in ROW_COLUMNS
        )
        updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in ROW_COLUMNS[1:])
        upsert = (
            f" ON CONFLICT (id) DO UPDATE SET {updates}, revision = events.revision + 1"
            " WHERE (excluded.total_tokens, excluded.occurred_at) > (events.total_tokens, events.occurred_at)"
        )
        insert = f"INSERT INTO events ({cols}, revision) VALUES "

        def values(n: int) -> str:
            return insert + ", ".join([f"({one}, 1)"] * n)

        self.select = f"SELECT {cols} FROM events WHERE id "
        self.upsert_one = values(1) + upsert + " RETURNING revision"
        self.upsert_row = values(1) + upsert
        self.upsert_block = values(rows_per_block) + upsert
        # With write hooks, PostgreSQL returns each stored row's revision and the version the statement's
        # snapshot saw before it (see `SqlLedger._write_tracked_pg`).
        tracked = (
            " RETURNING events.id, events.revision, (SELECT to_jsonb(o) FROM events o WHERE o.id = events.id)"
        )
        self.upsert_one_tracked = values(1) + upsert + tracked
        # PostgreSQL batches: COPY into a session-local staging table, then one INSERT ... SELECT.
        stage_cols = ", ".join(f"{quote(c)} {_stage_type(c)}" for c in ROW_COLUMNS)
        stage = "costwarden_stage_" + hashlib.sha1(stage_cols.encode()).hexdigest()[:10]
        self.stage_ddl = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({stage_cols}) ON COMMIT DELETE ROWS"
        self.stage_copy = f"COPY {stage} ({cols}) FROM STDIN (FORMAT BINARY)"
        self.stage_types = ["int8" if c in INT_COLUMNS else "text" for c in ROW_COLUMNS]
        picked = ", ".join(f"{quote(c)}::jsonb" if c == "tags" else quote(c) for c in ROW_COLUMNS)
        merge = f"INSERT INTO events ({cols}, revision) SELECT {picked}, 1 FROM {stage}"
        self.stage_upsert = merge + " ORDER BY id" + upsert  # id order: concurrent batches cannot deadlock
        self.stage_upsert_tracked = self.stage_upsert + tracked
