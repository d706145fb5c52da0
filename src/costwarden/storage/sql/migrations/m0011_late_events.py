"""Late events: the rollup triggers count every event, also one dated before the retention cut.

Until this migration the triggers of m0004 (`rollups`) and m0005 (`rollup_totals`) left out an event older
than `rollup_state.events_before`: an event recorded after `costwarden maintain` with a time before its cut
(`costwarden record --at`, `Warden.record(occurred_at=...)`) was stored, but the readers, which take history
before the cut from the rollups only, never counted it (reports, budget derivation, `budget rebuild`).

From here on the triggers add such an event to the hourly row of its UTC hour like any other, in the
transaction that writes it. That row lies inside history already folded into days (or months): every sum
over whole days or months still adds it, and the next `maintain` folds the hour into its day or month (and
deletes the event, whose sum then lives on in the rollups). The events already stored before the cut were
never counted: they are added here, once.

Why at write time rather than in the readers: the rollups stay the one place history before the cut is
read from (every reader is right at once, with no extra query), the event and its sum are written in one
transaction (no window in which a reader misses it or counts it twice), and the trigger no longer reads
`rollup_state` on every write.

PostgreSQL: the trigger functions are replaced (the triggers stay), appends held back while it runs.
SQLite: the four triggers are dropped and created again.

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0011_late_events"

HOUR = 3_600_000_000
_ROLLUP_DIMS = (
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
_TOTALS_DIMS = (
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
_HORIZON = f"coalesce((SELECT events_before FROM rollup_state WHERE id = 1), {_MIN})"
# table -> (dimensions, trigger-name prefix, PostgreSQL function-name prefix)
_TABLES = {
    "rollups": (_ROLLUP_DIMS, "rollups", "costwarden_rollups"),
    "rollup_totals": (_TOTALS_DIMS, "rollup_totals", "costwarden_rollup_totals"),
}


def _dim(dialect: str, row: str, name: str) -> str:
    if name == "tags" and dialect == "postgresql":
        return f"coalesce({row}.tags::text, '')"
    return f"coalesce({row}.{name}, '')"


def _key(dialect: str, row: str, dims: tuple[str, ...]) -> str:
    sep = " || chr(31) || " if dialect == "postgresql" else " || char(31) || "
    joined = sep.join(_dim(dialect, row, name) for name in dims)
    return f"md5({joined})" if dialect == "postgresql" else f"({joined})"


def _mod(dialect: str, value: str) -> str:
    return f"mod({value}, {HOUR})" if dialect == "postgresql" else f"(({value}) % {HOUR})"


def _values(dialect: str, row: str, sign: str, dims: tuple[str, ...]) -> list[str]:
    """bucket, key, dims..., sums... of one event row (`sign` is '' or '-')."""
    at = f"{row}.occurred_at"
    bucket = f"({at} - {_mod(dialect, f'{_mod(dialect, at)} + {HOUR}')})"
    out = [bucket, _key(dialect, row, dims), *(_dim(dialect, row, name) for name in dims), f"{sign}1"]
    out += [f"{sign}{row}.{name}" for name in _TOKENS]
    out += [
        f"{sign}{row}.cost_units",
        f"{sign}(CASE WHEN {row}.cost_source = 'unpriced' THEN 1 ELSE 0 END)",
        f"{sign}(CASE WHEN {row}.cost_source = 'unpriced' THEN {row}.cost_units ELSE 0 END)",
        f"{sign}(CASE WHEN {row}.status = 'error' THEN 1 ELSE 0 END)",
    ]
    return out


def _columns(dims: tuple[str, ...]) -> str:
    return ", ".join(("level", "bucket_start", "dims_key", "bucket_end", "label", *dims, *_SUMS))


def _conflict(table: str) -> str:
    add = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in _SUMS)
    return f"ON CONFLICT (level, bucket_start, dims_key) DO UPDATE SET {add}"


def _grouped_select(dialect: str, dims: tuple[str, ...], sources: list[tuple[str, str, str, str]]) -> str:
    """`SELECT` of hourly rows grouped from (relation, alias, sign, condition) sources."""
    inner = ("b", "k", *dims, *_SUMS)
    parts = []
    for relation, alias, sign, condition in sources:
        values = _values(dialect, alias, sign, dims)
        named = ", ".join(f"{v} AS {n}" for v, n in zip(values, inner, strict=True))
        parts.append(f"SELECT {named} FROM {relation} {alias} WHERE {condition}")
    union = " UNION ALL ".join(parts)
    sums = ", ".join(f"sum({name})" for name in _SUMS)
    names = ", ".join(dims)
    return (
        f"SELECT 'hour', b, k, b + {HOUR}, '', {names}, {sums} FROM ({union}) x "
        f"GROUP BY b, k, {names} ORDER BY b, k"
    )


def _sqlite_ddl(table: str) -> list[str]:
    dims, trigger, _ = _TABLES[table]

    def one(alias: str, sign: str) -> str:
        bucket, key, *rest = _values("sqlite", alias, sign, dims)
        values = ", ".join(["'hour'", bucket, key, f"{bucket} + {HOUR}", "''", *rest])
        # `WHERE true`: SQLite needs a WHERE before an upsert's ON CONFLICT after INSERT ... SELECT
        return f"INSERT INTO {table} ({_columns(dims)}) SELECT {values} WHERE true {_conflict(table)};"

    return [
        f"DROP TRIGGER IF EXISTS {trigger}_event_insert",
        f"DROP TRIGGER IF EXISTS {trigger}_event_update",
        f"CREATE TRIGGER {trigger}_event_insert AFTER INSERT ON events BEGIN {one('NEW', '')} END",
        f"CREATE TRIGGER {trigger}_event_update AFTER UPDATE ON events "
        f"BEGIN {one('OLD', '-')} {one('NEW', '')} END",
    ]


def _postgres_ddl(table: str) -> list[str]:
    dims, _, function = _TABLES[table]
    insert_select = _grouped_select("postgresql", dims, [("new_rows", "n", "", "true")])
    update_select = _grouped_select(
        "postgresql", dims, [("old_rows", "o", "-", "true"), ("new_rows", "n", "", "true")]
    )
    columns, conflict = _columns(dims), _conflict(table)
    return [
        f"CREATE OR REPLACE FUNCTION {function}_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {table} ({columns}) {insert_select} {conflict}; RETURN NULL; END $$",
        f"CREATE OR REPLACE FUNCTION {function}_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {table} ({columns}) {update_select} {conflict}; RETURN NULL; END $$",
    ]


def _backfill(dialect: str, table: str) -> str:
    """Add the events stored before the cut (which the old triggers left out) to their hourly rows."""
    dims = _TABLES[table][0]
    select = _grouped_select(dialect, dims, [("events", "e", "", f"e.occurred_at < {_HORIZON}")])
    return f"INSERT INTO {table} ({_columns(dims)}) {select} {_conflict(table)}"


def upgrade(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # no append between the new trigger functions and the backfill may be counted twice or missed
        conn.exec_driver_sql("LOCK TABLE events IN SHARE MODE")
    for table in _TABLES:
        for statement in _postgres_ddl(table) if dialect == "postgresql" else _sqlite_ddl(table):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(_backfill(dialect, table))
