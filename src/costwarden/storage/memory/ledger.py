"""`MemoryLedger`: the `Ledger` in plain Python, a shipped test double.

It stores each event exactly as the SQL ledger would return it (through the same row codec: costs rounded
to 10^-10 USD, times to the microsecond), follows the same idempotency and snapshot rule, and answers
`totals` with the same keys and order, so code tested against it behaves the same on SQLite and PostgreSQL.
Thread-safe; nothing is persisted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from costwarden.core.money import from_units, to_units
from costwarden.core.usage import CostSource, EventStatus, UsageEvent, event_key
from costwarden.forking import ForkSafeLock
from costwarden.storage.codec import decode_row, encode_batch, encode_event, now_micros
from costwarden.storage.ledger import (
    ALL_EVENTS,
    AppendOutcome,
    EventQuery,
    ModelSeen,
    Totals,
    check_group_key,
    period_label,
    sort_totals,
    where_matches,
)

__all__ = ["MemoryLedger"]

_PERIODS = ("hour", "day", "month")


@dataclass(slots=True)
class _Sums:
    events: int = 0
    requests: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0
    cost_units: int = 0
    unpriced_events: int = 0
    unpriced_units: int = 0
    error_events: int = 0

    def add(self, event: UsageEvent) -> None:
        u = event.usage
        units = to_units(event.cost_total)
        self.events += 1
        self.requests += u.requests
        self.input_tokens += u.input_tokens
        self.cache_read_tokens += u.cache_read_tokens
        self.cache_write_tokens += u.cache_write_tokens
        self.cache_write_1h_tokens += u.cache_write_1h_tokens
        self.output_tokens += u.output_tokens
        self.reasoning_tokens += u.reasoning_tokens
        self.web_search_requests += u.web_search_requests
        self.cost_units += units
        if event.cost is not None and event.cost.source == CostSource.UNPRICED:
            self.unpriced_events += 1
            self.unpriced_units += units
        if event.status == EventStatus.ERROR:
            self.error_events += 1

    def totals(self, key: tuple[str | None, ...]) -> Totals:
        return Totals(
            key=key,
            events=self.events,
            requests=self.requests,
            input_tokens=self.input_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens,
            web_search_requests=self.web_search_requests,
            cost=from_units(self.cost_units),
            unpriced_events=self.unpriced_events,
            unpriced_cost=from_units(self.unpriced_units),
            error_events=self.error_events,
        )


def _value(event: UsageEvent, key: str) -> str | None:
    """The group / filter value of one event."""
    if key in _PERIODS:
        return period_label(event.occurred_at, key)
    if key == "provider":
        return event.provider
    if key == "model":
        return event.model
    if key == "given_provider":
        return event.names_given[0]
    if key == "given_model":
        return event.names_given[1]
    if key == "provider_response_id":
        return event.provider_response_id
    if key == "provider_request_id":
        return event.provider_request_id
    if key == "status":
        return event.status.value
    if key == "source":
        return event.source.value
    if key == "cost_source":
        return event.cost.source.value if event.cost is not None else None
    return event.attribution.get(key)


class MemoryLedger:
    """The `Ledger` protocol in memory. `events` pre-loads it (as `append_many` would)."""

    def __init__(self, events: Iterable[UsageEvent] = ()) -> None:
        self._lock = ForkSafeLock()
        self._events: dict[str, tuple[UsageEvent, int]] = {}  # id -> (stored event, revision)
        self.append_many(events)

    def __len__(self) -> int:
        return len(self._events)

    def upgrade(self) -> list[str]:
        return []

    def close(self) -> None:
        """Nothing to release; the events stay readable."""

    def _store(self, row: tuple[object, ...]) -> AppendOutcome:
        event = decode_row(row)  # exactly what the SQL ledger would hand back
        known = self._events.get(event.id)
        if known is None:
            self._events[event.id] = (event, 1)
            return AppendOutcome.INSERTED
        if event.snapshot_key() > known[0].snapshot_key():
            self._events[event.id] = (event, known[1] + 1)
            return AppendOutcome.REPLACED
        return AppendOutcome.UNCHANGED

    def append(self, event: UsageEvent) -> AppendOutcome:
        row = encode_event(event, now_micros())
        with self._lock:
            return self._store(row)

    def append_many(self, events: Iterable[UsageEvent]) -> int:
        rows = encode_batch(events, now_micros())
        with self._lock:
            return sum(self._store(row) is not AppendOutcome.UNCHANGED for row in rows)

    def get(self, event_id: str) -> UsageEvent | None:
        with self._lock:
            known = self._events.get(event_key(event_id))
        return None if known is None else known[0]

    def revision(self, event_id: str) -> int | None:
        """How many snapshots of `event_id` were stored (1 = never replaced); None if unknown."""
        with self._lock:
            known = self._events.get(event_id)
        return None if known is None else known[1]

    def _matching(self, query: EventQuery) -> list[UsageEvent]:
        with self._lock:
            stored = [event for event, _ in self._events.values()]
        return [
            event
            for event in stored
            if (query.start is None or event.occurred_at >= query.start)
            and (query.end is None or event.occurred_at < query.end)
            and all(where_matches(_value(event, key), value) for key, value in query.where.items())
        ]

    def events(
        self, query: EventQuery = ALL_EVENTS, *, limit: int | None = None, newest_first: bool = False
    ) -> Iterator[UsageEvent]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return self._stream(query, limit, newest_first)

    def _stream(self, query: EventQuery, limit: int | None, newest_first: bool) -> Iterator[UsageEvent]:
        found = sorted(self._matching(query), key=lambda e: (e.occurred_at, e.id), reverse=newest_first)
        yield from (found if limit is None else found[:limit])

    def totals(self, query: EventQuery = ALL_EVENTS, group_by: Sequence[str] = ()) -> list[Totals]:
        keys = [check_group_key(key) for key in group_by]
        groups: dict[tuple[str | None, ...], _Sums] = {}
        if not keys:
            groups[()] = _Sums()
        for event in self._matching(query):
            key = tuple(_value(event, k) for k in keys)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = _Sums()
            sums.add(event)
        return sort_totals(sums.totals(key) for key, sums in groups.items())

    def models_seen(self) -> list[ModelSeen]:
        groups: dict[tuple[str, str, str], list[UsageEvent]] = {}
        for event in self._matching(ALL_EVENTS):
            source = event.cost.source.value if event.cost is not None else CostSource.UNPRICED.value
            groups.setdefault((event.provider, event.model, source), []).append(event)
        seen = []
        for (provider, model, source), found in sorted(groups.items()):
            refs = [e.cost.price_ref for e in found if e.cost is not None and e.cost.price_ref is not None]
            seen.append(
                ModelSeen(
                    provider=provider,
                    model=model,
                    cost_source=source,
                    events=len(found),
                    cost=from_units(sum(to_units(e.cost_total) for e in found)),
                    price_ref=max(refs) if refs else None,
                )
            )
        return seen
