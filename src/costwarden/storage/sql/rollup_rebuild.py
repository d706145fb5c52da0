"""The hourly rollup rows of the retained events, built as the rollup triggers build them (same bucket, same
`dims_key`, same sums), for `RollupStore.rebuild`. The live statements of the live tables: the frozen
migrations keep their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Insert, String, Table, Text, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from costwarden.storage.sql.rollup_tables import DIMS_OF, SUMS
from costwarden.storage.sql.schema import HOUR_US, events, time_bucket

__all__ = ["hourly_rows"]

_TOKENS = SUMS[1:9]  # requests .. web_search_requests: the event's own columns


class _DimsKey(FunctionElement[str]):
    """The key of a rollup row's dimensions: the values joined by U+001F (SQLite), their MD5 (PostgreSQL),
    as the triggers spell it."""

    type = Text()
    name = "dims_key"
    inherit_cache = True


@compiles(_DimsKey)
def _joined(element: _DimsKey, compiler: SQLCompiler, **kw: Any) -> str:
    return "(" + " || char(31) || ".join(compiler.process(c, **kw) for c in element.clauses) + ")"


@compiles(_DimsKey, "postgresql")
def _md5(element: _DimsKey, compiler: SQLCompiler, **kw: Any) -> str:
    return "md5(" + " || chr(31) || ".join(compiler.process(c, **kw) for c in element.clauses) + ")"


def hourly_rows(table: Table, horizon_us: int) -> Insert:
    """`INSERT INTO table ... SELECT` the hourly rows of the events from `horizon_us` on (the retention cut;
    older hours hold folded and deleted events and are kept as they are)."""
    dims = DIMS_OF[table.name]
    values = {
        name: func.coalesce(cast(events.c.tags, Text) if name == "tags" else events.c[name], "")
        for name in dims
    }
    unpriced = events.c.cost_source == "unpriced"
    rows = (
        select(
            (time_bucket(HOUR_US) * HOUR_US).label("b"),
            _DimsKey(*values.values()).label("k"),
            *(value.label(name) for name, value in values.items()),
            literal(1, BigInteger).label("events"),
            *(events.c[name].label(name) for name in _TOKENS),
            events.c.cost_units.label("cost_units"),
            case((unpriced, 1), else_=0).label("unpriced_events"),
            case((unpriced, events.c.cost_units), else_=0).label("unpriced_units"),
            case((events.c.status == "error", 1), else_=0).label("error_events"),
        )
        .where(events.c.occurred_at >= horizon_us)
        .subquery()
    )
    grouped = select(
        literal("hour", String),
        rows.c.b,
        rows.c.k,
        rows.c.b + HOUR_US,
        literal("", String),
        *(rows.c[name] for name in dims),
        *(func.sum(rows.c[name]) for name in SUMS),
    ).group_by(rows.c.b, rows.c.k, *(rows.c[name] for name in dims))
    columns = ["level", "bucket_start", "dims_key", "bucket_end", "label", *dims, *SUMS]
    return table.insert().from_select(columns, grouped)
