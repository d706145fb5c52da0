"""The rollup store: hourly, daily and monthly sums of the `events` table, kept in step with it.

Tables (created by migrations `m0004_rollups` and `m0005_rollup_totals`):

- `rollups`: one row per (level, bucket, dimensions). `level` is `hour` (a UTC hour), `day` or `month` (local
  calendar days and months of the timezone recorded in `rollup_state`). `bucket_start`/`bucket_end` are
  microseconds since the epoch (UTC), `label` the bucket's name (`2026-11-23T14`, `2026-11-23`, `2026-11`).
  Dimensions are every attribution field, provider, model, status, source, cost source and the tags (as the
  events table stores them); an unset value is stored as `''`. Sums are exact integers (cost in 10^-10 USD).
- `rollup_totals`: the same sums over fewer dimensions (no session, run, task or tags): far fewer rows, read
  whenever a report's groups and filters need none of the others.
- `rollup_state`: one row: where retention cut the events (`events_before`) and the timezone of day/month
  rows.

Every event counts in exactly one row of each table. Database triggers add an event to the hourly rows of
its UTC hour in the transaction that writes it; a replaced snapshot is subtracted and its successor added.
Retention (`retain`, planned by `costwarden.reports.retention`) folds old hourly rows into daily rows and
old daily rows into monthly rows. Rows hold differences, so a row may briefly hold a negative part of a
sum; sums over whole rows are exact.

An event recorded after `maintain` with a time before its cut (`events_before`) counts too (migration
`m0011_late_events`): its hourly row lies inside history already folded into days or months, so every sum
over whole days or months adds it, and the next `maintain` folds it into its day or month. Below the cut an
hourly row therefore holds late events (and, between two batches of a run, events already deleted): only
the hours from the cut on are compared with the events (`verify`) or recomputed from them (`rebuild`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
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

from costwarden.core.money import from_units
from costwarden.storage.codec import from_micros, to_micros
from costwarden.storage.ledger import Totals, WhereValue, where_matches, where_values
from costwarden.storage.rollups import BATCH_ROWS, Coverage, NotResolvable, RetentionCounts, RetentionPlan
from costwarden.storage.sql.engine import hold_appends, read_transaction, write_transaction
from costwarden.storage.sql.rollup_tables import (
    DIMENSIONS,
    DIMS_OF,
    SUMS,
    TABLES,
    TOTALS_DIMENSIONS,
    retired_events,
    rollup_state,
    rollup_totals,
    rollups,
)
from costwarden.storage.sql.schema import FIELD_COLUMNS, HOUR_US, upsert

__all__ = [
    "DIMENSIONS",
    "TOTALS_DIMENSIONS",
    "SUMS",
    "TABLES",
    "rollups",
    "rollup_totals",
    "rollup_state",
    "RollupStore",
    "table_for",
]

_NEVER: Final = -(2**63)
_TOTALS_OF_SUM: Final[dict[str, str]] = {"cost_units": "cost", "unpriced_units": "unpriced_cost"}

Dims = tuple[str, ...]


def table_for(keys: Iterable[str]) -> Table:
    """`rollup_totals` when it holds every field in `keys` (group keys and filters), else `rollups`."""
    names = {FIELD_COLUMNS.get(k, k) for k in keys if k not in ("hour", "day", "month")}
    return rollup_totals if names <= set(TOTALS_DIMENSIONS) else rollups


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
        # a day or month row starts at most 32 days before any instant it covers: a short primary-key range
        earliest = us - 32 * 86_400_000_000
        with read_transaction(self.engine) as conn:
            for level in ("day", "month"):
                found = conn.execute(
                    select(rollups.c.level)
                    .where(
                        rollups.c.level == level,
                        rollups.c.bucket_start > earliest,
                        rollups.c.bucket_start < us,
                        rollups.c.bucket_end > us,
                    )
                    .limit(1)
                ).first()
                if found is not None:
                    return True
        return False

    def totals(
        self,
        start: datetime | None,
        end: datetime | None,
        where: Mapping[str, WhereValue],
        group_by: Sequence[str],
        tz: ZoneInfo,
    ) -> list[Totals]:
        from costwarden.storage.totals import empty_totals, regroup, totals_equal

        missing = [
            k
            for k in (*group_by, *where)
            if k not in ("hour", "day", "month")
            and not k.startswith("tag:")
            and FIELD_COLUMNS.get(k, k) not in DIMENSIONS
        ]
        if missing:
            raise NotResolvable(f"{missing[0]} is kept with the events only, not in the rollups")
        table = table_for((*group_by, *where))
        time_keys = [k for k in group_by if k in ("hour", "day", "month")]
        tag_keys = sorted({k for k in (*group_by, *where) if k.startswith("tag:")})
        plain = [k for k in dict.fromkeys((*group_by,)) if k not in time_keys and not k.startswith("tag:")]
        columns = [table.c[FIELD_COLUMNS.get(k, k)] for k in plain]
        extra = []
        if tag_keys:
            extra.append(table.c.tags)
        if time_keys:
            extra += [table.c.level, table.c.bucket_start, table.c.label]
        group_cols = [*columns, *extra]
        stmt = select(*group_cols, *(func.sum(table.c[name]).label(name) for name in SUMS))
        conditions = []
        if start is not None:
            conditions.append(table.c.bucket_start >= to_micros(start))
        if end is not None:
            conditions.append(table.c.bucket_end <= to_micros(end))
        for name, value in where.items():
            if name.startswith("tag:"):
                continue
            conditions.append(
                table.c[FIELD_COLUMNS.get(name, name)].in_([v or "" for v in where_values(value)])
            )
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
                    name.startswith("tag:") and not where_matches(tags.get(name[4:]), value)
                    for name, value in where.items()
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

    # -- maintenance (retention: costwarden.storage.sql.retention) -----------------------------------------

    def stats(self, table: Table = rollups) -> dict[str, tuple[int, datetime | None, datetime | None]]:
        """Rows per level (of `rollups`, or of `table`) with the first bucket start and last bucket end."""
        stmt = select(
            table.c.level, func.count(), func.min(table.c.bucket_start), func.max(table.c.bucket_end)
        ).group_by(table.c.level)
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
    def first_bucket(
        conn: Connection, levels: Sequence[str], before_us: int, *, from_us: int | None = None
    ) -> int | None:
        """The earliest bucket start of `levels` before `before_us` (and at or after `from_us`), None when
        there is none. One index lookup, so a fold can jump over empty stretches of any length."""
        conditions = [rollups.c.level.in_(list(levels)), rollups.c.bucket_start < before_us]
        if from_us is not None:
            conditions.append(rollups.c.bucket_start >= from_us)
        value = conn.execute(select(func.min(rollups.c.bucket_start)).where(*conditions)).scalar()
        return None if value is None else int(value)

    @staticmethod
    def prune_reach(conn: Connection, before_us: int, limit: int) -> int:
        """Where to cut one batch of `prune_events`: the end of the UTC hour holding the `limit`-th oldest
        event before `before_us`, or `before_us` when fewer are left. Always a whole hour (or `before_us`),
        so the events left and the hourly rows still split every report exactly."""
        from costwarden.storage.sql.schema import events

        value = conn.execute(
            select(events.c.occurred_at)
            .where(events.c.occurred_at < before_us)
            .order_by(events.c.occurred_at)
            .offset(limit - 1)
            .limit(1)
        ).scalar()
        if value is None:
            return before_us
        return min(before_us, (int(value) // HOUR_US + 1) * HOUR_US)

    @staticmethod
    def fold(
        conn: Connection, levels: Sequence[str], into: str, start_us: int, end_us: int, label: str
    ) -> int:
        """Move every row of `levels` inside `[start_us, end_us)` into one `into` row per dimensions (sums
        added to an existing row), in both tables; returns how many `rollups` rows were folded."""
        folded = 0
        for table in TABLES:
            inside = (
                table.c.level.in_(list(levels)),
                table.c.bucket_start >= start_us,
                table.c.bucket_end <= end_us,
            )
            dims = [table.c[name] for name in DIMS_OF[table.name]]
            source = (
                select(
                    literal(into, String()),
                    literal(start_us, BigInteger()),
                    table.c.dims_key,
                    literal(end_us, BigInteger()),
                    literal(label, String()),
                    *dims,
                    *(func.sum(table.c[name]) for name in SUMS),
                )
                .where(*inside)
                .group_by(table.c.dims_key, *dims)
            )
            columns = [
                "level",
                "bucket_start",
                "dims_key",
                "bucket_end",
                "label",
                *DIMS_OF[table.name],
                *SUMS,
            ]
            stmt = upsert(conn.dialect.name, table).from_select(columns, source)
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.level, table.c.bucket_start, table.c.dims_key],
                set_={name: table.c[name] + stmt.excluded[name] for name in SUMS},
            )
            conn.execute(stmt)
            count = int(conn.execute(delete(table).where(*inside)).rowcount or 0)
            if table is rollups:
                folded = count
        return folded

    @staticmethod
    def drop_before(conn: Connection, before_us: int) -> int:
        """Forget rows that end at or before `before_us` (monthly retention), and the retired ids of the
        events in them; returns `rollups` rows."""
        conn.execute(delete(retired_events).where(retired_events.c.occurred_at < before_us))
        dropped = 0
        for table in TABLES:
            count = int(conn.execute(delete(table).where(table.c.bucket_end <= before_us)).rowcount or 0)
            dropped = count if table is rollups else dropped
        return dropped

    @staticmethod
    def prune_events(conn: Connection, before_us: int) -> int:
        """Delete events that occurred before `before_us` (their sums stay in the rollups); their ids are
        kept in `retired_events`, so recording one again is not a second event."""
        from costwarden.storage.sql.schema import events

        old = events.c.occurred_at < before_us
        retire = retired_events.insert().from_select(
            ["id", "occurred_at"], select(events.c.id, events.c.occurred_at).where(old)
        )
        conn.execute(retire)
        return int(conn.execute(delete(events).where(old)).rowcount or 0)

    @staticmethod
    def count_events(conn: Connection, before_us: int) -> int:
        from costwarden.storage.sql.schema import events

        return int(conn.execute(select(func.count()).where(events.c.occurred_at < before_us)).scalar() or 0)

    @staticmethod
    def delete_zero_rows(conn: Connection) -> int:
        """Remove rows whose every sum is zero (left by a snapshot that moved to another hour or model)."""
        removed = 0
        for table in TABLES:
            zero = and_(*(table.c[name] == 0 for name in SUMS))
            removed += int(conn.execute(delete(table).where(zero)).rowcount or 0)
        return removed

    def retain(
        self, plan: RetentionPlan, *, dry_run: bool = False, batch_rows: int = BATCH_ROWS
    ) -> RetentionCounts:
        from costwarden.storage.sql.retention import retain

        return retain(self, plan, dry_run=dry_run, batch_rows=batch_rows)

    def rebuild(self) -> int:
        """Recompute the hourly rows of both tables from the retained events from the retention cut on
        (daily and monthly rows, and hourly rows before the cut, are kept), e.g. after the triggers were
        bypassed. Returns the number of hourly `rollups` rows.

        One write transaction: on SQLite it holds the write lock, on PostgreSQL it holds appends back (reads
        go on), so writers wait for the rebuild, never see it half done, and never make it fail."""
        from costwarden.storage.sql.rollup_rebuild import hourly_rows

        with write_transaction(self.engine) as conn:
            # appends wait until the rebuild commits: no trigger adds to an hour row between the delete and
            # the insert below (which would collide, or count an event twice); reads go on
            hold_appends(conn)
            horizon = self._events_before(conn) or _NEVER
            for table in TABLES:
                conn.execute(delete(table).where(table.c.level == "hour", table.c.bucket_start >= horizon))
                conn.execute(hourly_rows(table, horizon))  # the events from the cut on, as the triggers count
            count = conn.execute(select(func.count()).select_from(rollups).where(rollups.c.level == "hour"))
            return int(count.scalar() or 0)

    def verify(self) -> list[tuple[str, Totals, Totals]]:
        """Hours from the retention cut on whose hourly rows (in either table) differ from their events:
        `(hour, rollups, events)`; a `rollup_totals` hour is labelled `2026-11-23T14 (rollup_totals)`.
        Hours before the cut are not compared: their rows also hold the sums of deleted events."""
        from costwarden.storage.sql.schema import events, time_bucket
        from costwarden.storage.totals import empty_totals, totals_equal

        with read_transaction(self.engine) as conn:
            horizon = self._events_before(conn) or _NEVER
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
            per_table = {
                table.name: conn.execute(
                    select(
                        table.c.bucket_start.label("b"),
                        *(func.sum(table.c[name]).label(name) for name in SUMS),
                    )
                    .where(table.c.level == "hour", table.c.bucket_start >= horizon)
                    .group_by(table.c.bucket_start)
                )
                .mappings()
                .all()
                for table in TABLES
            }
        from_events = {int(r["b"]) * HOUR_US: _totals_from((), r) for r in ev}
        bad: list[tuple[str, Totals, Totals]] = []
        for name, rows in per_table.items():
            from_rollups = {int(r["b"]): _totals_from((), r) for r in rows}
            for start in sorted(set(from_events) | set(from_rollups)):
                a = from_rollups.get(start, empty_totals())
                b = from_events.get(start, empty_totals())
                if not totals_equal(a, b):
                    hour = from_micros(start).strftime("%Y-%m-%dT%H")
                    bad.append((hour if name == "rollups" else f"{hour} ({name})", a, b))
        return bad
