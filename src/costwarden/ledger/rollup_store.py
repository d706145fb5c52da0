"""The rollup store: hourly, daily and monthly sums of the `events` table, kept in step with it.

Tables (created by migration `m0004_rollups`):

- `rollups`: one row per (level, bucket, dimensions). `level` is `hour` (a UTC hour), `day` or `month` (local
  calendar days and months of the timezone recorded in `rollup_state`). `bucket_start`/`bucket_end` are
  microseconds since the epoch (UTC), `label` the bucket's name (`2026-11-23T14`, `2026-11-23`, `2026-11`).
  Dimensions are every attribution field, provider, model, status, source, cost source and the tags (as the
  events table stores them); an unset value is stored as `''`. Sums are exact integers (cost in 10^-10 USD).
- `rollup_state`: one row: where retention cut the events (`events_before`) and the timezone of day/month
  rows.

Every event counts in exactly one rollup row. Appends add to the hourly row of their UTC hour in the same
transaction (`apply_rows`); a replaced snapshot is subtracted and its successor added. Retention
(`costwarden.reports.retention`) folds old hourly rows into daily rows and old daily rows into monthly rows.
Rows hold differences, so a row may briefly hold a negative part of a sum; sums over whole rows are exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect

from costwarden.core.money import from_units
from costwarden.ledger.base import Totals
from costwarden.ledger.codec import from_micros, to_micros
from costwarden.ledger.engine import read_transaction, write_transaction
from costwarden.ledger.schema import FIELD_COLUMNS, HOUR_US, metadata, text_type
from costwarden.reports.rollups import Coverage, NotResolvable

__all__ = [
    "DIMENSIONS",
    "SUMS",
    "rollups",
    "rollup_state",
    "RollupStore",
    "rollups_of",
]

# Dimension columns of a rollup row (event field names, `user` stored as `user_name`).
DIMENSIONS: Final[tuple[str, ...]] = (
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
_TOTALS_OF_SUM: Final[dict[str, str]] = {"cost_units": "cost", "unpriced_units": "unpriced_cost"}

rollups = Table(
    "rollups",
    metadata,
    Column("level", String(5), nullable=False),
    Column("bucket_start", BigInteger, nullable=False),
    Column("dims_key", text_type(), nullable=False),
    Column("bucket_end", BigInteger, nullable=False),
    Column("label", String(13), nullable=False),
    *(Column(name, text_type(), nullable=False) for name in DIMENSIONS),
    *(Column(name, BigInteger, nullable=False) for name in SUMS),
    PrimaryKeyConstraint("level", "bucket_start", "dims_key", name="pk_rollups"),
)
Index("ix_rollups_bucket_start", rollups.c.bucket_start)

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

Dims = tuple[str, ...]


def _insert_for(dialect: str) -> Any:
    return pg.insert(rollups) if dialect == "postgresql" else sqlite_dialect.insert(rollups)


def upsert_adding(conn: Connection, values: list[dict[str, Any]]) -> None:
    """Insert rollup rows, adding their sums to rows that already exist (same level, bucket and dims)."""
    if not values:
        return
    stmt = _insert_for(conn.dialect.name)
    stmt = stmt.on_conflict_do_update(
        index_elements=[rollups.c.level, rollups.c.bucket_start, rollups.c.dims_key],
        set_={name: rollups.c[name] + stmt.excluded[name] for name in SUMS},
    )
    for i in range(0, len(values), 1000):
        conn.execute(stmt, values[i : i + 1000])


def _delete_empty(conn: Connection, level: str, buckets: Iterable[int]) -> None:
    zero = and_(*(rollups.c[name] == 0 for name in SUMS))
    wanted = sorted(set(buckets))
    for i in range(0, len(wanted), 500):
        conn.execute(
            delete(rollups).where(
                rollups.c.level == level, rollups.c.bucket_start.in_(wanted[i : i + 500]), zero
            )
        )


def _totals_from(key: tuple[str | None, ...], sums: Any) -> Totals:
    values: dict[str, Any] = {}
    for name in SUMS:
        raw = int(sums[name] or 0)
        field = _TOTALS_OF_SUM.get(name, name)
        values[field] = from_units(raw) if name in _TOTALS_OF_SUM else raw
    return Totals(key=key, **values)


class RollupStore:
    """Reads and maintains the rollups of one SQL ledger (`engine`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- state ---------------------------------------------------------------------------------------------

    def _events_before(self, conn: Connection) -> int | None:
        value = conn.execute(select(rollup_state.c.events_before).where(rollup_state.c.id == 1)).scalar()
        return None if value is None else int(value)

    def coverage(self) -> Coverage:
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(rollup_state).where(rollup_state.c.id == 1)).mappings().first()
        if row is None:
            return Coverage(events_before=None)

        def at(name: str) -> datetime | None:
            value = row[name]
            return None if value is None else from_micros(int(value))

        return Coverage(
            events_before=at("events_before"),
            hourly_before=at("hourly_before"),
            daily_before=at("daily_before"),
            timezone=row["timezone"],
        )

    def set_state(self, conn: Connection, **values: Any) -> None:
        """Update the single `rollup_state` row (created when missing)."""
        found = conn.execute(select(rollup_state.c.id).where(rollup_state.c.id == 1)).first()
        if found is None:
            conn.execute(rollup_state.insert().values(id=1, **values))
        else:
            conn.execute(update(rollup_state).where(rollup_state.c.id == 1).values(**values))

    # -- reading -------------------------------------------------------------------------------------------

    def straddles(self, at: datetime) -> bool:
        us = to_micros(at)
        with read_transaction(self.engine) as conn:
            found = conn.execute(
                select(rollups.c.level)
                .where(rollups.c.level != "hour", rollups.c.bucket_start < us, rollups.c.bucket_end > us)
                .limit(1)
            ).first()
        return found is not None

    def totals(
        self,
        start: datetime | None,
        end: datetime | None,
        where: Mapping[str, str | None],
        group_by: Sequence[str],
        tz: ZoneInfo,
    ) -> list[Totals]:
        from costwarden.reports.totals import empty_totals, regroup, totals_equal

        time_keys = [k for k in group_by if k in ("hour", "day", "month")]
        tag_keys = sorted({k for k in (*group_by, *where) if k.startswith("tag:")})
        plain = [k for k in dict.fromkeys((*group_by,)) if k not in time_keys and not k.startswith("tag:")]
        columns = [rollups.c[FIELD_COLUMNS.get(k, k)] for k in plain]
        extra = []
        if tag_keys:
            extra.append(rollups.c.tags)
        if time_keys:
            extra += [rollups.c.level, rollups.c.bucket_start, rollups.c.label]
        group_cols = [*columns, *extra]
        stmt = select(*group_cols, *(func.sum(rollups.c[name]).label(name) for name in SUMS))
        conditions = []
        if start is not None:
            conditions.append(rollups.c.bucket_start >= to_micros(start))
        if end is not None:
            conditions.append(rollups.c.bucket_end <= to_micros(end))
        for name, value in where.items():
            if name.startswith("tag:"):
                continue
            conditions.append(rollups.c[FIELD_COLUMNS.get(name, name)] == (value or ""))
        if conditions:
            stmt = stmt.where(*conditions)
        if group_cols:
            stmt = stmt.group_by(*group_cols)
        with read_transaction(self.engine) as conn:
            result = conn.execute(stmt).mappings().all()
            zone = None
            if time_keys and any(r["level"] != "hour" for r in result):
                zone = self._zone(conn)
        tag_cache: dict[str, Mapping[str, str]] = {}

        def tags_of(text: str) -> Mapping[str, str]:
            got = tag_cache.get(text)
            if got is None:
                got = tag_cache[text] = json.loads(text) if text else {}
            return got

        out: list[Totals] = []
        for r in result:
            if tag_keys:
                tags = tags_of(r["tags"])
                if any(
                    name.startswith("tag:") and tags.get(name[4:]) != value for name, value in where.items()
                ):
                    continue
            key: list[str | None] = []
            for k in group_by:
                if k in time_keys:
                    key.append(self._time_label(r, k, tz, zone))
                elif k.startswith("tag:"):
                    key.append(tags_of(r["tags"]).get(k[4:]))
                else:
                    key.append(r[FIELD_COLUMNS.get(k, k)] or None)
            out.append(_totals_from(tuple(key), r))
        if not group_by:
            return out
        # a group whose every event moved away (a replaced snapshot) nets to zero: it has no events
        return [
            row for row in regroup(out, lambda k: k) if row.events or not totals_equal(row, empty_totals())
        ]

    def _zone(self, conn: Connection) -> str | None:
        value = conn.execute(select(rollup_state.c.timezone).where(rollup_state.c.id == 1)).scalar()
        return None if value is None else str(value)

    @staticmethod
    def _time_label(row: Any, kind: str, tz: ZoneInfo, zone: str | None) -> str:
        level = row["level"]
        if level == "hour":
            start = from_micros(int(row["bucket_start"]))
            local = start.astimezone(tz)
            end_offset = (start + timedelta(minutes=59)).astimezone(tz).utcoffset()
            offset = local.utcoffset()
            if offset is None or offset != end_offset or offset.total_seconds() % 3600:
                raise NotResolvable(f"hours of timezone {tz.key} do not map onto UTC hours")
            return local.strftime({"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d", "month": "%Y-%m"}[kind])
        if zone != tz.key:
            raise NotResolvable(f"daily and monthly totals were cut in timezone {zone}, not {tz.key}")
        label = str(row["label"])
        if level == "day" and kind in ("day", "month"):
            return label if kind == "day" else label[:7]
        if level == "month" and kind == "month":
            return label
        raise NotResolvable(
            f"{label} is kept only as a {'daily' if level == 'day' else 'monthly'} total; "
            f"cannot group it by {kind}"
        )

    # -- maintenance (used by costwarden.reports.retention) -------------------------------------------------

    def stats(self) -> dict[str, tuple[int, datetime | None, datetime | None]]:
        """Rows per level with the first bucket start and last bucket end."""
        stmt = select(
            rollups.c.level, func.count(), func.min(rollups.c.bucket_start), func.max(rollups.c.bucket_end)
        ).group_by(rollups.c.level)
        with read_transaction(self.engine) as conn:
            rows = conn.execute(stmt).all()
        return {
            str(level): (
                int(n),
                from_micros(int(lo)) if lo is not None else None,
                from_micros(int(hi)) if hi is not None else None,
            )
            for level, n, lo, hi in rows
        }

    @staticmethod
    def first_bucket(conn: Connection, levels: Sequence[str], before_us: int) -> int | None:
        """The earliest bucket start of `levels` before `before_us` (None when there is none)."""
        value = conn.execute(
            select(func.min(rollups.c.bucket_start)).where(
                rollups.c.level.in_(list(levels)), rollups.c.bucket_start < before_us
            )
        ).scalar()
        return None if value is None else int(value)

    @staticmethod
    def fold(  # noqa: PLR0917
        conn: Connection, levels: Sequence[str], into: str, start_us: int, end_us: int, label: str
    ) -> int:
        """Move every row of `levels` inside `[start_us, end_us)` into one `into` row per dimensions
        (sums added to an existing row); returns how many rows were folded."""
        inside = (
            rollups.c.level.in_(list(levels)),
            rollups.c.bucket_start >= start_us,
            rollups.c.bucket_end <= end_us,
        )
        dims = [rollups.c[name] for name in DIMENSIONS]
        source = (
            select(
                literal(into, String()),
                literal(start_us, BigInteger()),
                rollups.c.dims_key,
                literal(end_us, BigInteger()),
                literal(label, String()),
                *dims,
                *(func.sum(rollups.c[name]) for name in SUMS),
            )
            .where(*inside)
            .group_by(rollups.c.dims_key, *dims)
        )
        columns = ["level", "bucket_start", "dims_key", "bucket_end", "label", *DIMENSIONS, *SUMS]
        stmt = _insert_for(conn.dialect.name).from_select(columns, source)
        stmt = stmt.on_conflict_do_update(
            index_elements=[rollups.c.level, rollups.c.bucket_start, rollups.c.dims_key],
            set_={name: rollups.c[name] + stmt.excluded[name] for name in SUMS},
        )
        conn.execute(stmt)
        return int(conn.execute(delete(rollups).where(*inside)).rowcount or 0)

    @staticmethod
    def drop_before(conn: Connection, before_us: int) -> int:
        """Forget rollup rows that end at or before `before_us` (monthly retention)."""
        return int(conn.execute(delete(rollups).where(rollups.c.bucket_end <= before_us)).rowcount or 0)

    @staticmethod
    def prune_events(conn: Connection, before_us: int) -> int:
        """Delete events that occurred before `before_us` (their sums stay in the rollups)."""
        from costwarden.ledger.schema import events

        return int(conn.execute(delete(events).where(events.c.occurred_at < before_us)).rowcount or 0)

    @staticmethod
    def count_events(conn: Connection, before_us: int) -> int:
        from costwarden.ledger.schema import events

        return int(conn.execute(select(func.count()).where(events.c.occurred_at < before_us)).scalar() or 0)

    @staticmethod
    def delete_zero_rows(conn: Connection) -> int:
        """Remove rows whose every sum is zero (left by a snapshot that moved to another hour or model)."""
        zero = and_(*(rollups.c[name] == 0 for name in SUMS))
        return int(conn.execute(delete(rollups).where(zero)).rowcount or 0)

    def rebuild(self) -> int:
        """Recompute the hourly rows from the retained events (after a bulk load that bypassed nothing, or to
        repair); daily and monthly rows are kept. Returns the number of hourly rows written."""
        from costwarden.ledger.migrations.m0004_rollups import rebuild_statement

        with write_transaction(self.engine) as conn:
            conn.execute(delete(rollups).where(rollups.c.level == "hour"))
            conn.exec_driver_sql(rebuild_statement(conn.dialect.name))
            return int(
                conn.execute(
                    select(func.count()).select_from(rollups).where(rollups.c.level == "hour")
                ).scalar()
                or 0
            )

    def verify(self) -> list[tuple[str, Totals, Totals]]:
        """Hours whose hourly rollups differ from their retained events: `(hour, rollups, events)`."""
        from costwarden.ledger.schema import events, time_bucket
        from costwarden.reports.totals import empty_totals, totals_equal

        with read_transaction(self.engine) as conn:
            horizon = self._events_before(conn) or -(2**63)
            bucket = time_bucket(HOUR_US).label("b")
            unpriced = events.c.cost_source == "unpriced"
            ev = (
                conn.execute(
                    select(
                        bucket,
                        func.count().label("events"),
                        *(func.sum(events.c[name]).label(name) for name in SUMS[1:9]),
                        func.sum(events.c.cost_units).label("cost_units"),
                        func.sum(case((unpriced, 1), else_=0)).label("unpriced_events"),
                        func.sum(case((unpriced, events.c.cost_units), else_=0)).label("unpriced_units"),
                        func.sum(case((events.c.status == "error", 1), else_=0)).label("error_events"),
                    )
                    .where(events.c.occurred_at >= horizon)
                    .group_by(bucket)
                )
                .mappings()
                .all()
            )
            ro = (
                conn.execute(
                    select(
                        rollups.c.bucket_start.label("b"),
                        *(func.sum(rollups.c[name]).label(name) for name in SUMS),
                    )
                    .where(rollups.c.level == "hour")
                    .group_by(rollups.c.bucket_start)
                )
                .mappings()
                .all()
            )
        from_events = {int(r["b"]) * HOUR_US: _totals_from((), r) for r in ev}
        from_rollups = {int(r["b"]): _totals_from((), r) for r in ro}
        bad: list[tuple[str, Totals, Totals]] = []
        for start in sorted(set(from_events) | set(from_rollups)):
            a = from_rollups.get(start, empty_totals())
            b = from_events.get(start, empty_totals())
            if not totals_equal(a, b):
                bad.append((from_micros(start).strftime("%Y-%m-%dT%H"), a, b))
        return bad


def rollups_of(ledger: object) -> RollupStore | None:
    """The rollup store of a SQL ledger (None for ledgers without rollups, such as `MemoryLedger`)."""
    store = getattr(ledger, "rollups", None)
    if isinstance(store, RollupStore):
        return store
    engine = getattr(ledger, "engine", None)
    if isinstance(engine, Engine):
        return RollupStore(engine)
    return None
