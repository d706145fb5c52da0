"""The SQL a snapshot keeps for each figure: sums of cost, tokens and requests of the events that match,
in a window; compiled once by the full way (SQLAlchemy), run by the fast way (`run_query`, the standard
library only)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from costwarden.statusline.snapshot import Query

__all__ = ["sums_query", "conditions", "run_query"]


def sums_query(
    where_of: list[Any],
    start: datetime | None,
    end: datetime | None,
    rolling_us: int | None = None,
    *,
    to_now: bool = False,
) -> Query:
    """The snapshot query of the conditions `where_of` within `[start, end)` (compiled for SQLite, named
    parameters); `rolling_us`: from that long before now; `to_now`: up to now (inclusive), not `end`."""
    from sqlalchemy import bindparam, func, select
    from sqlalchemy.dialects import sqlite

    from costwarden.storage.codec import to_micros
    from costwarden.storage.sql.schema import events

    tokens = (
        events.c.input_tokens
        + events.c.cache_read_tokens
        + events.c.cache_write_tokens
        + events.c.cache_write_1h_tokens
        + events.c.output_tokens
    )
    where = list(where_of)
    if start is not None or rolling_us is not None:
        where.append(events.c.occurred_at >= bindparam("w_start", type_=events.c.occurred_at.type))
    if end is not None or to_now:
        where.append(events.c.occurred_at < bindparam("w_end", type_=events.c.occurred_at.type))
    stmt = select(
        func.coalesce(func.sum(events.c.cost_units), 0),
        func.coalesce(func.sum(tokens), 0),
        func.coalesce(func.sum(events.c.requests), 0),
    ).where(*where)
    compiled = stmt.compile(dialect=sqlite.dialect(paramstyle="named"))
    params = {k: v for k, v in compiled.params.items() if k not in ("w_start", "w_end")}
    return Query(
        sql=str(compiled),
        params=params,
        start=None if start is None or rolling_us is not None else to_micros(start),
        end=None if end is None else to_micros(end),
        rolling_us=rolling_us,
        to_now=to_now,
    )


def conditions(match: Sequence[tuple[str, Collection[str | None]]]) -> list[Any]:
    """The ledger's filter of each field (as `SqlLedger` reads `EventQuery.where`): any of its values."""
    from sqlalchemy import or_

    from costwarden.storage.sql.schema import field_column, tag_value

    out: list[Any] = []
    for name, values in match:
        column = tag_value("sqlite", name[4:]) if name.startswith("tag:") else field_column(name)
        options = [column.is_(None) if v is None else column == v for v in sorted(values, key=str)]
        out.append(options[0] if len(options) == 1 else or_(*options))
    return out


def run_query(conn: sqlite3.Connection, query: Query, now_us: int) -> tuple[int, int, int]:
    """`(cost units, tokens, requests)` of one snapshot query at `now_us`."""
    params = dict(query.params)
    if query.rolling_us is not None:
        params["w_start"] = now_us - query.rolling_us
    elif query.start is not None:
        params["w_start"] = query.start
    if query.to_now:
        params["w_end"] = now_us + 1  # an event at this very moment counts
    elif query.end is not None:
        params["w_end"] = query.end
    cost, tokens, requests = conn.execute(query.sql, params).fetchone()
    return int(cost or 0), int(tokens or 0), int(requests or 0)
