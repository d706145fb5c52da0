"""Rollup totals: `rollup_totals`, the same hourly/daily/monthly sums as `rollups` but over the few
dimensions most reports group by (project, agent, user, plan, task type, provider, model, status, source,
cost source). Without session, run, task and tags a month is tens of thousands of rows instead of hundreds
of thousands, so the common reports read it; `rollups` still answers every other grouping.

Kept in step by triggers exactly like `rollups` (m0004): an insert adds, an update subtracts the old row
and adds the new one, events before `rollup_state.events_before` are not counted; backfilled from
`rollups` (every level), so a database that already folded old detail gets the same totals.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

__all__ = ["NAME", "upgrade", "rebuild_statement", "DIMS"]

NAME = "m0005_rollup_totals"

HOUR = 3_600_000_000
TABLE = "rollup_totals"
DIMS = (
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
_COLUMNS = ", ".join(("level", "bucket_start", "dims_key", "bucket_end", "label", *DIMS, *_SUMS))
_ADD = ", ".join(f"{name} = {TABLE}.{name} + excluded.{name}" for name in _SUMS)
_CONFLICT = f"ON CONFLICT (level, bucket_start, dims_key) DO UPDATE SET {_ADD}"
_HORIZON = f"coalesce((SELECT events_before FROM rollup_state WHERE id = 1), {_MIN})"
_INNER = ("b", "k", *DIMS, *_SUMS)


def _text() -> TypeEngine[str]:
    return Text().with_variant(Text(collation="C"), "postgresql")


def _table(metadata: MetaData) -> Table:
    table = Table(
        TABLE,
        metadata,
        Column("level", String(5), nullable=False),
        Column("bucket_start", BigInteger, nullable=False),
        Column("dims_key", _text(), nullable=False),
        Column("bucket_end", BigInteger, nullable=False),
        Column("label", String(13), nullable=False),
        *(Column(name, _text(), nullable=False) for name in DIMS),
        *(Column(name, BigInteger, nullable=False) for name in _SUMS),
        PrimaryKeyConstraint("level", "bucket_start", "dims_key", name="pk_rollup_totals"),
    )
    Index("ix_rollup_totals_bucket_start", table.c.bucket_start)
    return table


def _key(dialect: str, row: str) -> str:
    sep = " || chr(31) || " if dialect == "postgresql" else " || char(31) || "
    joined = sep.join(f"coalesce({row}.{name}, '')" for name in DIMS)
    return f"md5({joined})" if dialect == "postgresql" else f"({joined})"


def _mod(dialect: str, value: str) -> str:
    return f"mod({value}, {HOUR})" if dialect == "postgresql" else f"(({value}) % {HOUR})"


def _values(dialect: str, row: str, sign: str) -> list[str]:
    """bucket, key, dims..., sums... of one event row (`sign` is '' or '-')."""
    at = f"{row}.occurred_at"
    bucket = f"({at} - {_mod(dialect, f'{_mod(dialect, at)} + {HOUR}')})"
    out = [bucket, _key(dialect, row), *(f"coalesce({row}.{name}, '')" for name in DIMS), f"{sign}1"]
    out += [f"{sign}{row}.{name}" for name in _TOKENS]
    out += [
        f"{sign}{row}.cost_units",
        f"{sign}(CASE WHEN {row}.cost_source = 'unpriced' THEN 1 ELSE 0 END)",
        f"{sign}(CASE WHEN {row}.cost_source = 'unpriced' THEN {row}.cost_units ELSE 0 END)",
        f"{sign}(CASE WHEN {row}.status = 'error' THEN 1 ELSE 0 END)",
    ]
    return out


def _grouped_select(dialect: str, sources: list[tuple[str, str, str]]) -> str:
    parts = []
    for relation, alias, sign in sources:
        values = ", ".join(f"{v} AS {n}" for v, n in zip(_values(dialect, alias, sign), _INNER, strict=True))
        parts.append(f"SELECT {values} FROM {relation} {alias} WHERE {alias}.occurred_at >= {_HORIZON}")
    union = " UNION ALL ".join(parts)
    sums = ", ".join(f"sum({name})" for name in _SUMS)
    dims = ", ".join(DIMS)
    return (
        f"SELECT 'hour', b, k, b + {HOUR}, '', {dims}, {sums} FROM ({union}) x "
        f"GROUP BY b, k, {dims} ORDER BY b, k"
    )


def rebuild_statement(dialect: str) -> str:
    """The `INSERT` of hourly rows from the retained events, exactly as the triggers would have built them."""
    return f"INSERT INTO {TABLE} ({_COLUMNS}) {_grouped_select(dialect, [('events', 'e', '')])}"


def _from_rollups(dialect: str) -> str:
    dims = ", ".join(f"r.{name}" for name in DIMS)
    sums = ", ".join(f"sum(r.{name})" for name in _SUMS)
    return (
        f"INSERT INTO {TABLE} ({_COLUMNS}) SELECT r.level, r.bucket_start, {_key(dialect, 'r')}, "
        f"r.bucket_end, r.label, {dims}, {sums} FROM rollups r "
        f"GROUP BY r.level, r.bucket_start, r.bucket_end, r.label, {dims}"
    )


def _sqlite_ddl() -> list[str]:
    def one(alias: str, sign: str) -> str:
        bucket, key, *rest = _values("sqlite", alias, sign)
        values = ", ".join(["'hour'", bucket, key, f"{bucket} + {HOUR}", "''", *rest])
        where = f"WHERE {alias}.occurred_at >= {_HORIZON}"
        return f"INSERT INTO {TABLE} ({_COLUMNS}) SELECT {values} {where} {_CONFLICT};"

    return [
        f"CREATE TRIGGER rollup_totals_event_insert AFTER INSERT ON events BEGIN {one('NEW', '')} END",
        "CREATE TRIGGER rollup_totals_event_update AFTER UPDATE ON events "
        f"BEGIN {one('OLD', '-')} {one('NEW', '')} END",
    ]


def _postgres_ddl() -> list[str]:
    insert_select = _grouped_select("postgresql", [("new_rows", "n", "")])
    update_select = _grouped_select("postgresql", [("old_rows", "o", "-"), ("new_rows", "n", "")])
    return [
        "CREATE FUNCTION costwarden_rollup_totals_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {TABLE} ({_COLUMNS}) {insert_select} {_CONFLICT}; RETURN NULL; END $$",
        "CREATE FUNCTION costwarden_rollup_totals_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {TABLE} ({_COLUMNS}) {update_select} {_CONFLICT}; RETURN NULL; END $$",
        "CREATE TRIGGER rollup_totals_event_insert AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION costwarden_rollup_totals_insert()",
        "CREATE TRIGGER rollup_totals_event_update AFTER UPDATE ON events REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION costwarden_rollup_totals_update()",
    ]


def upgrade(conn: Connection) -> None:
    dialect = conn.dialect.name
    _table(MetaData()).create(conn)
    conn.exec_driver_sql(_from_rollups(dialect))
    for statement in _postgres_ddl() if dialect == "postgresql" else _sqlite_ddl():
        conn.exec_driver_sql(statement)
