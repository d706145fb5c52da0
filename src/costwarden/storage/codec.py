"""Event <-> row: the one place that knows how a `UsageEvent` is laid out in the `events` table.

A row is a plain tuple in `ROW_COLUMNS` order, ready for a DBAPI `executemany` or a COPY. Times are
integer microseconds since the Unix epoch (UTC); money is an integer count of 10^-10 USD (see
`costwarden.core.money`); tags and cost slices are compact JSON objects (slice amounts as decimal strings,
so they come back exact).

Pure Python: no SQL driver is imported here, so the in-memory ledger shares the exact same encoding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from costwarden.clock import SYSTEM_CLOCK
from costwarden.core.money import from_units, to_units
from costwarden.core.usage import (
    ATTRIBUTION_FIELDS,
    TOKEN_FIELDS,
    Attribution,
    CostBreakdown,
    CostSource,
    EventSource,
    EventStatus,
    Usage,
    UsageEvent,
)
from costwarden.errors import ValidationError

__all__ = [
    "ROW_COLUMNS",
    "INT_COLUMNS",
    "ID",
    "OCCURRED_AT",
    "TOTAL_TOKENS",
    "EPOCH",
    "Row",
    "to_micros",
    "from_micros",
    "now_micros",
    "encode_event",
    "encode_batch",
    "decode_row",
    "canonical_row",
    "newer",
]

Row = tuple[Any, ...]

# Column order of an encoded row. `revision` is not part of it: the SQL sets and increments it.
ROW_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "occurred_at",
    "provider",
    "model",
    *TOKEN_FIELDS,
    "total_tokens",
    *("user_name" if name == "user" else name for name in ATTRIBUTION_FIELDS),  # `user` is reserved in SQL
    "tags",
    "source",
    "status",
    "duration_ms",
    "service_tier",
    "provider_cost_units",
    "cost_units",
    "cost_source",
    "price_ref",
    "cost_slices",
    "recorded_at",
    "given_provider",
    "given_model",
    "provider_response_id",
    "provider_request_id",
    "given_id",
)
INT_COLUMNS: Final[frozenset[str]] = frozenset(
    {
        "occurred_at",
        *TOKEN_FIELDS,
        "total_tokens",
        "duration_ms",
        "provider_cost_units",
        "cost_units",
        "recorded_at",
    }
)
ID: Final = 0
OCCURRED_AT: Final = 1
TOTAL_TOKENS: Final = ROW_COLUMNS.index("total_tokens")
_TAGS: Final = ROW_COLUMNS.index("tags")

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)
_INT64_MAX: Final = 2**63 - 1

# StrEnum members hash and compare as their values, so one dict maps both members and plain strings.
_COST_SOURCES: Final[dict[str, str]] = {m.value: m.value for m in CostSource}
_KEY_JSON: dict[str, str] = {}
_TAGS_JSON: dict[tuple[tuple[str, str], ...], str] = {}


def to_micros(at: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact integer arithmetic)."""
    return (at - EPOCH) // _ONE_US


def from_micros(us: int) -> datetime:
    """The aware UTC datetime of a microsecond timestamp."""
    return EPOCH + timedelta(microseconds=us)


def now_micros() -> int:
    """The system's wall time for bookkeeping stamps (row written, definition changed): not "now" in
    the clock's sense (see `costwarden.clock`), so it ignores `COSTWARDEN_NOW`."""
    return to_micros(SYSTEM_CLOCK.now())


def _units(field: str, amount: object) -> int:
    if type(amount) is not Decimal:
        if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
            raise ValidationError(field, f"expected a Decimal amount, got {amount!r}")
        amount = Decimal(amount)
    try:
        units = to_units(amount)
    except (ArithmeticError, ValueError):  # NaN, infinities
        raise ValidationError(field, f"expected a finite non-negative amount, got {amount}") from None
    if units < 0:
        raise ValidationError(field, f"expected a finite non-negative amount, got {amount}")
    if units > _INT64_MAX:
        raise ValidationError(field, f"amount {amount} is too large to store")
    return units


def _key_json(key: str) -> str:
    fragment = _KEY_JSON.get(key)
    if fragment is None:
        if not isinstance(key, str) or not key:
            raise ValidationError("cost.slices", f"slice names must be non-empty strings, got {key!r}")
        fragment = json.dumps(key, ensure_ascii=False) + ':"'
        if len(_KEY_JSON) < 4096:
            _KEY_JSON[key] = fragment
    return fragment


def _slices_json(slices: Mapping[str, Decimal]) -> str | None:
    if not slices:
        return None
    parts = []
    for key, amount in slices.items():
        value: object = amount
        if type(value) is not Decimal and (isinstance(value, bool) or not isinstance(value, Decimal | int)):
            raise ValidationError(f"cost.slices.{key}", f"expected a Decimal amount, got {amount!r}")
        parts.append(_key_json(key) + str(amount) + '"')  # str(Decimal) needs no JSON escaping
    return "{" + ",".join(parts) + "}"


def _tags_json(tags: Mapping[str, str]) -> str | None:
    # Many events carry the same tags: remember recent encodings (tags are already sorted by name).
    if not tags:
        return None
    key = tuple(tags.items())
    text = _TAGS_JSON.get(key)
    if text is None:
        text = json.dumps(tags, ensure_ascii=False, separators=(",", ":"))
        if len(_TAGS_JSON) >= 4096:
            _TAGS_JSON.clear()
        _TAGS_JSON[key] = text
    return text


def encode_event(event: UsageEvent, recorded_at: int) -> Row:
    """The row of one priced event. Raises `ValidationError` if it is not a priced `UsageEvent`."""
    if not isinstance(event, UsageEvent):
        raise ValidationError("event", f"expected a UsageEvent, got {type(event).__name__}")
    cost = event.cost
    if not isinstance(cost, CostBreakdown):
        if cost is None:
            raise ValidationError("cost", f"event {event.id!r} is not priced; price it before recording it")
        raise ValidationError("cost", f"expected a CostBreakdown, got {type(cost).__name__}")
    cost_source = _COST_SOURCES.get(cost.source)
    if cost_source is None:
        choices = ", ".join(_COST_SOURCES)
        raise ValidationError("cost.source", f"expected one of {choices}, got {cost.source!r}")
    u = event.usage
    a = event.attribution
    provider_cost = event.provider_cost
    return (
        event.id,
        (event.occurred_at - EPOCH) // _ONE_US,
        event.provider,
        event.model,
        u.input_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        u.cache_write_1h_tokens,
        u.output_tokens,
        u.reasoning_tokens,
        u.requests,
        u.web_search_requests,
        u.total_tokens,
        a.project,
        a.agent,
        a.session,
        a.run,
        a.task,
        a.task_type,
        a.plan,
        a.user,
        _tags_json(a.tags),
        str(event.source),
        str(event.status),
        event.duration_ms,
        event.service_tier,
        None if provider_cost is None else _units("provider_cost", provider_cost),
        _units("cost.total", cost.total),
        cost_source,
        cost.price_ref,
        _slices_json(cost.slices),
        recorded_at,
        event.given_provider,
        event.given_model,
        event.provider_response_id,
        event.provider_request_id,
        event.given_id,
    )


def newer(row: Row, than: Sequence[Any]) -> bool:
    """Whether `row` is a higher snapshot than the stored row `than` (both in `ROW_COLUMNS` order)."""
    return (row[TOTAL_TOKENS], row[OCCURRED_AT]) > (int(than[TOTAL_TOKENS]), int(than[OCCURRED_AT]))


def encode_batch(events: Iterable[UsageEvent], recorded_at: int) -> list[Row]:
    """Encode every event (all checked before the caller writes anything) and keep, per id, the highest
    snapshot (`UsageEvent.snapshot_key()`); on a tie the first one, as sequential appends would."""
    rows = [encode_event(event, recorded_at) for event in events]
    if len({row[ID] for row in rows}) == len(rows):
        return rows
    position: dict[str, int] = {}
    kept: list[Row] = []
    for row in rows:
        at = position.get(row[ID])
        if at is None:
            position[row[ID]] = len(kept)
            kept.append(row)
        elif newer(row, kept[at]):
            kept[at] = row
    return kept


def _json_object(value: object) -> Mapping[str, Any]:
    # SQLite hands back text; PostgreSQL's jsonb arrives already decoded.
    if value is None:
        return {}
    if isinstance(value, str | bytes):
        decoded = json.loads(value)
        return decoded if isinstance(decoded, dict) else {}
    return value if isinstance(value, Mapping) else {}


def decode_row(row: Sequence[Any]) -> UsageEvent:
    """The `UsageEvent` of a row read in `ROW_COLUMNS` order (trailing columns are ignored)."""
    provider_cost_units = row[26]
    return UsageEvent(
        id=row[0],
        occurred_at=EPOCH + timedelta(microseconds=int(row[1])),
        provider=row[2],
        model=row[3],
        usage=Usage(
            input_tokens=int(row[4]),
            cache_read_tokens=int(row[5]),
            cache_write_tokens=int(row[6]),
            cache_write_1h_tokens=int(row[7]),
            output_tokens=int(row[8]),
            reasoning_tokens=int(row[9]),
            requests=int(row[10]),
            web_search_requests=int(row[11]),
        ),
        attribution=Attribution(
            project=row[13],
            agent=row[14],
            session=row[15],
            run=row[16],
            task=row[17],
            task_type=row[18],
            plan=row[19],
            user=row[20],
            tags={str(k): str(v) for k, v in _json_object(row[21]).items()},
        ),
        source=EventSource(row[22]),
        status=EventStatus(row[23]),
        duration_ms=None if row[24] is None else int(row[24]),
        service_tier=row[25],
        provider_cost=None if provider_cost_units is None else from_units(int(provider_cost_units)),
        cost=CostBreakdown(
            total=from_units(int(row[27])),
            source=CostSource(row[28]),
            slices={str(k): Decimal(str(v)) for k, v in _json_object(row[30]).items()},
            price_ref=row[29],
        ),
        given_provider=row[32],
        given_model=row[33],
        provider_response_id=row[34],
        provider_request_id=row[35],
        given_id=row[36],
    )


def canonical_row(row: Sequence[Any]) -> Row:
    """A row read back from the database (`ROW_COLUMNS` order) exactly as `encode_event` writes it: tags as
    compact JSON text with sorted names (PostgreSQL returns jsonb decoded and in its own key order)."""
    values = list(row[: len(ROW_COLUMNS)])
    if values[_TAGS] is not None:
        values[_TAGS] = _tags_json(
            dict(sorted((str(k), str(v)) for k, v in _json_object(values[_TAGS]).items()))
        )
    return tuple(values)
