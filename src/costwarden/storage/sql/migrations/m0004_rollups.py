"""Rollups: the `rollups` and `rollup_state` tables, the triggers that keep hourly rollups in step with
`events`, a backfill from the events already stored, and `insight_dismissals`.

Triggers (not application code) keep the rollups exact whichever path writes an event: an insert adds the
event to the row of its UTC hour; an update (a newer snapshot replacing an older one) subtracts the old row
and adds the new one; a delete (retention) changes nothing. Events older than `rollup_state.events_before`
(where retention cut) are not counted: their period is closed.

SQLite: row-level triggers (one writer at a time). PostgreSQL: statement-level triggers over transition
tables, so a batch becomes one grouped upsert in a fixed (bucket, key) order.

Everything is spelled out here as it was when this migration shipped.
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
from sqlalchemy.types import TypeEngine

__all__ = ["NAME", "upgrade", "rebuild_statement"]

NAME = "m0004_rollups"

HOUR = 3_600_000_000
_DIMS = (
    "project",
    "agent",
    "session",
    "run",
    "task",
    "task_type",
    "plan",
    "user_name",
    "provider",
    "model",
    "status",
    "source",
    "cost_source",
    "tags",
)
_TOKENS = (
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
)
_SUMS = ("events", *_TOKENS, "cost_units", "unpriced_events", "unpriced_units", "error_events")
_MIN = "-9223372036854775808"


def _text() -> TypeEngine[str]:
    return Text().with_variant(Text(collation="C"), "postgresql")


def _tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    rollups = Table(
        "rollups",
        metadata,
        Column("level", String(5), nullable=False),
        Column("bucket_start", BigInteger, nullable=False),
        Column("dims_key", _text(), nullable=False),
        Column("bucket_end", BigInteger, nullable=False),
        Column("label", String(13), nullable=False),
        *(Column(name, _text(), nullable=False) for name in _DIMS),
        *(Column(name, BigInteger, nullable=False) for name in _SUMS),
        PrimaryKeyConstraint("level", "bucket_start", "dims_key", name="pk_rollups"),
    )
    Index("ix_rollups_bucket_start", rollups.c.bucket_start)
    state = Table(
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
    dismissals = Table(
        "insight_dismissals",
        metadata,
        Column("insight_id", String(64), nullable=False),
        Column("dismissed_at", BigInteger, nullable=False),
        Column("title", _text(), nullable=True),
        PrimaryKeyConstraint("insight_id", name="pk_insight_dismissals"),
    )
    return rollups, state, dismissals


def _dim(dialect: str, row: str, name: str) -> str:
    if name == "tags" and dialect == "postgresql":
        return f"coalesce({row}.tags::text, '')"
    return f"coalesce({row}.{name}, '')"


def _key(dialect: str, row: str) -> str:
    sep = " || chr(31) || " if dialect == "postgresql" else " || char(31) || "
    joined = sep.join(_dim(dialect, row, name) for name in _DIMS)
    return f"md5({joined})" if dialect == "postgresql" else f"({joined})"


def _mod(dialect: str, value: str) -> str:
    # `%` would be read as a parameter marker by psycopg; mod() is not in every SQLite build
    return f"mod({value}, {HOUR})" if dialect == "postgresql" else f"(({value}) % {HOUR})"


def _values(dialect: str, row: str, sign: str) -> list[str]:
    """bucket, key, dims..., sums... of one event row (`sign` is '' or '-')."""
    at = f"{row}.occurred_at"
    bucket = f"({at} - {_mod(dialect, f'{_mod(dialect, at)} + {HOUR}')})"
    out = [bucket, _key(dialect, row), *(_dim(dialect, row, name) for name in _DIMS), f"{sign}1"]
    out += [f"{sign}{row}.{name}" for name in _TOKENS]
    out += [
        f"{sign}{row}.cost_units",
        f"{sign}(CASE WHEN {row}.cost_source = 'unpriced' THEN 1 ELSE 0 END)",
        f"{sign}(CASE WHEN {row}.cost_source = 'unpriced' THEN {row}.cost_units ELSE 0 END)",
        f"{sign}(CASE WHEN {row}.status = 'error' THEN 1 ELSE 0 END)",
    ]
    return out


_COLUMNS = ", ".join(("level", "bucket_start", "dims_key", "bucket_end", "label", *_DIMS, *_SUMS))
_ADD = ", ".join(f"{name} = rollups.{name} + excluded.{name}" for name in _SUMS)
_CONFLICT = f"ON CONFLICT (level, bucket_start, dims_key) DO UPDATE SET {_ADD}"
_HORIZON = f"coalesce((SELECT events_before FROM rollup_state WHERE id = 1), {_MIN})"
_INNER = ("b", "k", *_DIMS, *_SUMS)


def _grouped_select(dialect: str, sources: list[tuple[str, str, str]]) -> str:
    """`SELECT` of hourly rows grouped from one or more (relation, alias, sign) sources."""
    parts = []
    for relation, alias, sign in sources:
        values = ", ".join(f"{v} AS {n}" for v, n in zip(_values(dialect, alias, sign), _INNER, strict=True))
        parts.append(f"SELECT {values} FROM {relation} {alias} WHERE {alias}.occurred_at >= {_HORIZON}")
    union = " UNION ALL ".join(parts)
    sums = ", ".join(f"sum({name})" for name in _SUMS)
    dims = ", ".join(_DIMS)
    return (
        f"SELECT 'hour', b, k, b + {HOUR}, '', {dims}, {sums} FROM ({union}) x "
        f"GROUP BY b, k, {dims} ORDER BY b, k"
    )


def _sqlite_ddl() -> list[str]:
    def one(alias: str, sign: str) -> str:
        bucket, key, *rest = _values("sqlite", alias, sign)
        values = ", ".join(["'hour'", bucket, key, f"{bucket} + {HOUR}", "''", *rest])
        where = f"WHERE {alias}.occurred_at >= {_HORIZON}"
        return f"INSERT INTO rollups ({_COLUMNS}) SELECT {values} {where} {_CONFLICT};"

    return [
        f"CREATE TRIGGER rollups_event_insert AFTER INSERT ON events BEGIN {one('NEW', '')} END",
        "CREATE TRIGGER rollups_event_update AFTER UPDATE ON events "
        f"BEGIN {one('OLD', '-')} {one('NEW', '')} END",
    ]


def _postgres_ddl() -> list[str]:
    insert_select = _grouped_select("postgresql", [("new_rows", "n", "")])
    update_select = _grouped_select("postgresql", [("old_rows", "o", "-"), ("new_rows", "n", "")])
    return [
        "CREATE FUNCTION costwarden_rollups_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO rollups ({_COLUMNS}) {insert_select} {_CONFLICT}; RETURN NULL; END $$",
        "CREATE FUNCTION costwarden_rollups_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO rollups ({_COLUMNS}) {update_select} {_CONFLICT}; RETURN NULL; END $$",
        "CREATE TRIGGER rollups_event_insert AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION costwarden_rollups_insert()",
        "CREATE TRIGGER rollups_event_update AFTER UPDATE ON events REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION costwarden_rollups_update()",
    ]


def rebuild_statement(dialect: str) -> str:
    """The `INSERT` of hourly rows from the retained events, exactly as the triggers would have built them."""
    return f"INSERT INTO rollups ({_COLUMNS}) {_grouped_select(dialect, [('events', 'e', '')])}"


def upgrade(conn: Connection) -> None:
    dialect = conn.dialect.name
    metadata = MetaData()
    for table in _tables(metadata):
        table.create(conn)
    # the events already stored (a database created before this migration)
    conn.exec_driver_sql(
        f"INSERT INTO rollups ({_COLUMNS}) {_grouped_select(dialect, [('events', 'e', '')])}"
    )
    for statement in _postgres_ddl() if dialect == "postgresql" else _sqlite_ddl():
        conn.exec_driver_sql(statement)
