"""The ledger protocol: append-only, idempotent storage of priced usage events, and its queries.

Every backend (SQLite, PostgreSQL, the in-memory test double) implements `Ledger`; the same test-suite runs
against all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from costwarden.core.usage import ATTRIBUTION_FIELDS, UsageEvent, ensure_utc

__all__ = [
    "WhereValue",
    "where_values",
    "where_matches",
    "GROUP_FIELDS",
    "FILTER_FIELDS",
    "AppendOutcome",
    "EventQuery",
    "Totals",
    "ModelSeen",
    "Ledger",
    "ALL_EVENTS",
    "check_group_key",
    "check_filter_key",
    "period_label",
    "sort_totals",
]

# Keys accepted by `group_by` (plus `tag:NAME` for any tag).
GROUP_FIELDS: tuple[str, ...] = (
    *ATTRIBUTION_FIELDS,
    "provider",
    "model",
    "given_provider",
    "given_model",
    "status",
    "source",
    "cost_source",
    "hour",
    "day",
    "month",
)
# Keys accepted by `EventQuery.where` (plus `tag:NAME`). `provider` / `model` are the canonical names;
# `given_provider` / `given_model` the names the caller gave (the raw model id, e.g. a dated snapshot);
# `provider_response_id` / `provider_request_id` find the calls the provider reported under an id.
FILTER_FIELDS: tuple[str, ...] = (
    *ATTRIBUTION_FIELDS,
    "provider",
    "model",
    "given_provider",
    "given_model",
    "status",
    "source",
    "cost_source",
    "provider_response_id",
    "provider_request_id",
)


WhereValue = str | None | tuple[str | None, ...]
"""A filter's value: one value (None: the field is unset), or a tuple of values any of which may match."""


def where_values(value: WhereValue) -> tuple[str | None, ...]:
    """The values a filter accepts (one or several)."""
    return value if isinstance(value, tuple) else (value,)


def where_matches(actual: str | None, value: WhereValue) -> bool:
    """Whether a field's value passes a filter (several values: any of them)."""
    return actual in value if isinstance(value, tuple) else actual == value


def check_group_key(key: str) -> str:
    """Return `key` if it can group or filter a query, else raise `ValueError` naming the choices."""
    if key in GROUP_FIELDS or (key.startswith("tag:") and len(key) > 4):
        return key
    raise ValueError(f"cannot group by {key!r}; choose one of {', '.join(GROUP_FIELDS)} or tag:NAME")


def check_filter_key(key: str) -> str:
    """Return `key` if `EventQuery.where` can filter on it, else raise `ValueError` naming the choices."""
    if key in FILTER_FIELDS or (key.startswith("tag:") and len(key) > 4):
        return key
    raise ValueError(f"cannot filter on {key!r}; choose one of {', '.join(FILTER_FIELDS)} or tag:NAME")


def period_label(at: datetime, unit: str) -> str:
    """The UTC `hour`, `day` or `month` group of an instant: `2026-11-23T14`, `2026-11-23`, `2026-11`."""
    iso = at.astimezone(UTC).isoformat()
    if unit == "hour":
        return iso[:13]
    if unit == "day":
        return iso[:10]
    if unit == "month":
        return iso[:7]
    raise ValueError(f"unknown period {unit!r}; choose hour, day or month")


class AppendOutcome(StrEnum):
    """What appending one event did."""

    INSERTED = "inserted"  # a new id
    REPLACED = "replaced"  # a newer snapshot of a known id replaced the stored one
    UNCHANGED = "unchanged"  # the same (or an older) snapshot of a known id: a no-op


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events a query covers: `start <= occurred_at < end` (UTC) and equality filters.

    `where` maps a field of `FILTER_FIELDS` (or `tag:NAME`) to the value it must equal (the value None
    selects events where the field is unset), or to a tuple of values, any of which may match: fields are
    ANDed, the values of one field ORed (`{"project": ("a", "b"), "agent": "x"}`).
    """

    start: datetime | None = None
    end: datetime | None = None
    where: Mapping[str, WhereValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Bounds must be aware (normalised to UTC); filter keys are checked here so every backend agrees.
        if self.start is not None:
            object.__setattr__(self, "start", ensure_utc(self.start, "start"))
        if self.end is not None:
            object.__setattr__(self, "end", ensure_utc(self.end, "end"))
        for key, value in self.where.items():
            check_filter_key(key)
            if isinstance(value, list | set | frozenset):
                raise ValueError(f"where[{key!r}]: several values go in a tuple, got {type(value).__name__}")


ALL_EVENTS = EventQuery()
"""The query without bounds or filters (the default of every query method)."""


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over a group of events. `key` holds the group values in `group_by` order.

    `hour`, `day` and `month` group keys are ISO strings in UTC: `2026-11-23T14`, `2026-11-23`, `2026-11`.
    """

    key: tuple[str | None, ...]
    events: int
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    web_search_requests: int
    cost: Decimal
    unpriced_events: int
    unpriced_cost: Decimal
    error_events: int

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
            + self.cache_write_1h_tokens
            + self.output_tokens
        )


def sort_totals(rows: Iterable[Totals]) -> list[Totals]:
    """The order of `Ledger.totals`: cost descending, then key ascending with unset (None) values last."""
    return sorted(rows, key=lambda r: (-r.cost, tuple((v is None, v or "") for v in r.key)))


@dataclass(frozen=True, slots=True)
class ModelSeen:
    """A provider/model pair seen in the ledger, with how its events were priced."""

    provider: str
    model: str
    cost_source: str
    events: int
    cost: Decimal
    price_ref: str | None


@runtime_checkable
class Ledger(Protocol):
    """Append-only, idempotent event storage. Events must be priced (`event.cost` set) before appending."""

    def upgrade(self) -> list[str]:
        """Apply pending migrations; return the names applied."""
        ...

    def append(self, event: UsageEvent) -> AppendOutcome:
        """Store one event durably. Same id again: no-op, unless its `snapshot_key()` is higher (replace)."""
        ...

    def append_many(self, events: Iterable[UsageEvent]) -> int:
        """Store many events in one transaction with the same idempotency rules; return how many ids were
        inserted or replaced. Several snapshots of one id in the batch count once (the highest wins).

        Every event is checked before anything is written: an unpriced event raises `ValidationError` and
        nothing of the batch is stored.
        """
        ...

    def get(self, event_id: str) -> UsageEvent | None:
        """The stored event of an id (as given: an id over 255 characters is found by its `event_key`)."""
        ...

    def totals(self, query: EventQuery = ALL_EVENTS, group_by: Sequence[str] = ()) -> list[Totals]:
        """Sums per group, ordered by cost descending then key (unset values last, see `sort_totals`).

        No `group_by`: exactly one row (key `()`), zeros when nothing matches. A bad key raises `ValueError`.
        """
        ...

    def events(
        self, query: EventQuery = ALL_EVENTS, *, limit: int | None = None, newest_first: bool = False
    ) -> Iterator[UsageEvent]:
        """The events themselves, by `occurred_at` then id, streamed."""
        ...

    def models_seen(self) -> list[ModelSeen]: ...

    def close(self) -> None: ...
