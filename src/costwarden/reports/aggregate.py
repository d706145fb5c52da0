"""Totals for reports: the ledger and its rollups combined, with time buckets in the configured timezone.

The ledger's own `hour`/`day`/`month` keys are UTC. Here a local bucket is derived from UTC hours (exact
for every timezone whose offset is a whole number of hours at that time); when an hour does not map onto
one local hour (e.g. Asia/Kolkata, +05:30) the events are scanned instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from costwarden.core.usage import UsageEvent
from costwarden.reports.periods import local_bucket, utc_iso
from costwarden.reports.rollups import Segment, plan_segments
from costwarden.storage.ledger import (
    ALL_EVENTS,
    EventQuery,
    Ledger,
    Totals,
    WhereValue,
    check_filter_key,
    check_group_key,
)
from costwarden.storage.rollups import Coverage, NotResolvable, RollupSource
from costwarden.storage.totals import event_totals, regroup, sort_rows

__all__ = [
    "TIME_KEYS",
    "Aggregator",
    "event_key",
    "hour_to_local",
    "check_keys",
]

TIME_KEYS: tuple[str, ...] = ("hour", "day", "month")

Key = tuple[str | None, ...]
_MIN = datetime(1970, 1, 1, tzinfo=UTC)
_MAX = datetime(9999, 1, 1, tzinfo=UTC)


def check_keys(group_by: Sequence[str]) -> tuple[str, ...]:
    """Validate group keys (raises ValueError naming the choices); duplicates are dropped."""
    out: list[str] = []
    for key in group_by:
        check_group_key(key)
        if key not in out:
            out.append(key)
    return tuple(out)


def event_key(event: UsageEvent, group_by: Sequence[str], tz: ZoneInfo) -> Key:
    """The group values of one event (time buckets local to `tz`)."""
    values: list[str | None] = []
    for key in group_by:
        if key in TIME_KEYS:
            values.append(local_bucket(event.occurred_at, key, tz))
        elif key == "provider":
            values.append(event.provider)
        elif key == "model":
            values.append(event.model)
        elif key == "given_provider":
            values.append(event.names_given[0])
        elif key == "given_model":
            values.append(event.names_given[1])
        elif key == "status":
            values.append(event.status.value)
        elif key == "source":
            values.append(event.source.value)
        elif key == "cost_source":
            values.append(event.cost.source.value if event.cost is not None else None)
        else:
            values.append(event.attribution.get(key))
    return tuple(values)


def hour_to_local(hour_label: str, tz: ZoneInfo) -> datetime | None:
    """The UTC hour `2026-11-23T14` as a local datetime, or None when it is not exactly one local hour."""
    start = datetime.strptime(hour_label, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    local = start.astimezone(tz)
    offset = local.utcoffset()
    end_offset = (start + timedelta(minutes=59, seconds=59)).astimezone(tz).utcoffset()
    if offset is None or offset != end_offset or offset.total_seconds() % 3600:
        return None
    return local


def _is_utc(tz: ZoneInfo) -> bool:
    return tz.key in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT")


@dataclass
class Aggregator:
    """Answers `totals(query, group_by)` exactly, from rollups where they cover the range, else from events.

    `last_sources` records which sources answered the last call (`events`, `rollups`).
    """

    ledger: Ledger
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    rollups: RollupSource | None = None
    use_rollups: bool = True
    last_sources: tuple[str, ...] = ()

    def snapshot(self) -> AbstractContextManager[None]:
        """Answer every question inside the block from one snapshot of the ledger (`SqlLedger.snapshot`):
        a report's total and its breakdowns then agree even while other processes append."""
        pin = getattr(self.ledger, "snapshot", None)
        return pin() if callable(pin) else nullcontext()

    def coverage(self) -> Coverage:
        if self.rollups is None:
            return Coverage(events_before=None)
        return self.rollups.coverage()

    def totals(self, query: EventQuery = ALL_EVENTS, group_by: Sequence[str] = ()) -> list[Totals]:
        """Sums per group, canonical order (time keys in time order, then cost descending)."""
        keys = check_keys(group_by)
        for name in query.where:
            check_filter_key(name)
        segments = self._plan(query)
        self.last_sources = tuple(dict.fromkeys(s.source for s in segments))
        rows: list[Totals] = []
        for segment in segments:
            rows.extend(self._segment_totals(segment, query.where, keys))
        merged = regroup(rows, lambda k: k) if len(segments) > 1 else rows
        time_positions = [i for i, k in enumerate(keys) if k in TIME_KEYS]
        return sort_rows(merged, time_positions)

    def total(self, query: EventQuery = ALL_EVENTS) -> Totals:
        """One row for the whole query."""
        from costwarden.storage.totals import empty_totals

        rows = self.totals(query, ())
        return rows[0] if rows else empty_totals()

    # -- planning ------------------------------------------------------------------------------------------

    def _plan(self, query: EventQuery) -> list[Segment]:
        lo = query.start or _MIN
        hi = query.end or _MAX
        if self.rollups is None:
            return [Segment(lo, hi, "events")]
        coverage = self.rollups.coverage()
        if not self.use_rollups:
            if coverage.events_before is not None and lo < coverage.events_before:
                raise NotResolvable(
                    f"events before {utc_iso(coverage.events_before)} are kept only as rollups; "
                    "this range cannot be read from events alone"
                )
            return [Segment(lo, hi, "events")]
        return plan_segments(query.start, query.end, coverage, self.rollups)

    def _segment_totals(
        self, segment: Segment, where: Mapping[str, WhereValue], keys: tuple[str, ...]
    ) -> list[Totals]:
        query = EventQuery(start=segment.start, end=segment.end, where=dict(where))
        if segment.source == "rollups":
            assert self.rollups is not None
            try:
                return self.rollups.totals(segment.start, segment.end, where, keys, self.tz)
            except NotResolvable:
                horizon = self.rollups.coverage().events_before
                if horizon is not None and segment.start < horizon:
                    raise
                self.last_sources = tuple(dict.fromkeys((*self.last_sources, "events")))
        return self.event_totals(query, keys)

    # -- events --------------------------------------------------------------------------------------------

    def event_totals(self, query: EventQuery, keys: tuple[str, ...]) -> list[Totals]:
        """Sums straight from the ledger, time keys mapped to the local timezone."""
        if not any(k in TIME_KEYS for k in keys) or _is_utc(self.tz):
            return self.ledger.totals(query, keys)
        inner = tuple(dict.fromkeys("hour" if k in TIME_KEYS else k for k in keys))
        hour_at = inner.index("hour")
        rows = self.ledger.totals(query, inner)
        locals_: dict[str, datetime] = {}
        for row in rows:
            label = row.key[hour_at]
            assert label is not None
            local = hour_to_local(label, self.tz)
            if local is None:
                return self.scan(query, keys)
            locals_[label] = local
        mapper = _key_mapper(keys, inner, locals_)
        return regroup(rows, mapper)

    def scan(self, query: EventQuery, keys: tuple[str, ...]) -> list[Totals]:
        """Sums computed by reading every event of the query (the slow, always exact path)."""
        return _group_events(self.ledger.events(query), keys, self.tz)


def _key_mapper(
    keys: tuple[str, ...], inner: tuple[str, ...], locals_: Mapping[str, datetime]
) -> Callable[[Key], Key]:
    hour_at = inner.index("hour")
    positions = [inner.index(k) if k not in TIME_KEYS else -1 for k in keys]
    formats = {"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d", "month": "%Y-%m"}

    def mapper(key: Key) -> Key:
        label = key[hour_at]
        assert label is not None
        local = locals_[label]
        return tuple(
            local.strftime(formats[k]) if k in TIME_KEYS else key[pos]
            for k, pos in zip(keys, positions, strict=True)
        )

    return mapper


def _group_events(events: Iterable[UsageEvent], keys: tuple[str, ...], tz: ZoneInfo) -> list[Totals]:
    from costwarden.storage.totals import add_totals

    merged: dict[Key, Totals] = {}
    for event in events:
        key = event_key(event, keys, tz)
        row = event_totals(event, key)
        have = merged.get(key)
        merged[key] = row if have is None else add_totals(have, row, key)
    if not keys and not merged:
        return []
    return list(merged.values())
