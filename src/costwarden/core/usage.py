"""The usage event: what one LLM call (or one imported log record) consumed, who it was for, what it cost.

`Usage` holds the token slices, `Attribution` says whom the call served, `CostBreakdown` what it cost and
where that figure came from, `UsageEvent` ties them together under an idempotency key.

Token slices never overlap: `input_tokens` is the *uncached* input; cache reads and both cache writes are
separate; `output_tokens` includes reasoning, and `reasoning_tokens` is an informational subset of it.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypedDict, TypeVar

from costwarden.clock import default_now, wall_time_ns
from costwarden.core.limits import MAX_TOKENS, MAX_USD, date_in_range, date_range_message
from costwarden.errors import ValidationError

__all__ = [
    "TOKEN_FIELDS",
    "ATTRIBUTION_FIELDS",
    "AttributionFields",
    "CostSource",
    "EventSource",
    "EventStatus",
    "Usage",
    "Attribution",
    "CostBreakdown",
    "UsageEvent",
    "MAX_ID_LENGTH",
    "event_key",
    "new_event_id",
    "check_count",
    "ensure_utc",
]

TOKEN_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "requests",
    "web_search_requests",
)
ATTRIBUTION_FIELDS: tuple[str, ...] = (
    "project",
    "agent",
    "session",
    "run",
    "task",
    "task_type",
    "plan",
    "user",
)


class CostSource(StrEnum):
    """Where an event's cost figure came from."""

    PROVIDER_REPORTED = "provider_reported"
    COMPUTED = "computed"
    ESTIMATED = "estimated"
    UNPRICED = "unpriced"


class EventSource(StrEnum):
    """Which kind of adapter captured the event."""

    SDK = "sdk"
    PROXY = "proxy"
    IMPORT = "import"
    CLI = "cli"
    API = "api"


class EventStatus(StrEnum):
    """How the call ended."""

    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"


def check_count(name: str, value: object) -> int:
    """Return `value` if it is an int in 0..10^12 (`MAX_TOKENS`; not bool, not float, not NaN); else raise
    naming `name`."""
    if type(value) is int:
        if value < 0:
            raise ValidationError(name, f"must not be negative, got {value}")
        if value > MAX_TOKENS:
            raise ValidationError(name, f"must be at most 10^12, got {value}")
        return value
    if isinstance(value, bool):
        raise ValidationError(name, f"expected a whole number of tokens, got the boolean {value!r}")
    if isinstance(value, float) and math.isnan(value):
        raise ValidationError(name, "expected a whole number of tokens, got NaN")
    if isinstance(value, int):  # int subclasses such as numpy-free IntEnum
        return check_count(name, int(value))
    raise ValidationError(name, f"expected a whole number of tokens, got {value!r}")


def ensure_utc(value: object, name: str = "occurred_at") -> datetime:
    """Return `value` as an aware UTC datetime; naive datetimes are refused (their zone is unknowable)."""
    if not isinstance(value, datetime):
        raise ValidationError(name, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            name, f"needs a timezone (e.g. {value.isoformat()}+00:00), got a naive datetime"
        )
    return value.astimezone(UTC)


_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], value: object, name: str) -> _E:
    try:
        return kind(value)  # type: ignore[arg-type]
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ValidationError(name, f"expected one of {choices}, got {value!r}") from None


MAX_ID_LENGTH = 255
"""The longest id stored as given; a longer one is stored as its `event_key`."""
_KEPT = MAX_ID_LENGTH - 65


def event_key(event_id: str) -> str:
    """The id an event is stored under: `event_id` itself up to 255 characters; a longer one becomes its
    first 190 characters, `~` and the SHA-256 of the whole id (stable across processes and versions, so the
    same long id is always the same event and distinct ones never collide, as a truncation would)."""
    if len(event_id) <= MAX_ID_LENGTH:
        return event_id
    digest = hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{event_id[:_KEPT]}~{digest}"


def new_event_id() -> str:
    """A generated event id: time-ordered (nanoseconds) plus 48 random bits, e.g. `cw-187a...`."""
    return f"cw-{wall_time_ns():016x}{os.urandom(6).hex()}"


@dataclass(frozen=True, slots=True)
class Usage:
    """Token slices and other billable units of one call. All counts are non-negative ints."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 1
    web_search_requests: int = 0

    def __post_init__(self) -> None:
        for name in TOKEN_FIELDS:
            check_count(name, getattr(self, name))
        if self.reasoning_tokens > self.output_tokens:
            raise ValidationError(
                "reasoning_tokens",
                "is part of output_tokens and cannot exceed it "
                f"({self.reasoning_tokens} > {self.output_tokens})",
            )

    @property
    def total_input_tokens(self) -> int:
        """All input: uncached, cache reads and both cache writes."""
        return (
            self.input_tokens + self.cache_read_tokens + self.cache_write_tokens + self.cache_write_1h_tokens
        )

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in TOKEN_FIELDS}


def _clean_tags(tags: Mapping[str, object] | None) -> dict[str, str]:
    if not tags:
        return {}
    if not isinstance(tags, Mapping):
        raise ValidationError("tags", f"expected a mapping of names to values, got {type(tags).__name__}")
    out: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key:
            raise ValidationError("tags", f"tag names must be non-empty strings, got {key!r}")
        if value is None or isinstance(value, Mapping | list | tuple | set):
            raise ValidationError(f"tags.{key}", f"expected a scalar value, got {value!r}")
        out[key] = str(value)
    return dict(sorted(out.items()))


class AttributionFields(TypedDict, total=False):
    """The fields of an `Attribution` as keyword arguments (`Warden.run(project=..., agent=...)`)."""

    project: str | None
    agent: str | None
    session: str | None
    run: str | None
    task: str | None
    task_type: str | None
    plan: str | None
    user: str | None
    tags: Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class Attribution:
    """Whom a call served. Every field is optional; tags are free-form `name -> value` strings."""

    project: str | None = None
    agent: str | None = None
    session: str | None = None
    run: str | None = None
    task: str | None = None
    task_type: str | None = None
    plan: str | None = None
    user: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ATTRIBUTION_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(name, f"expected a string, got {type(value).__name__}")
            if value == "":
                object.__setattr__(self, name, None)
        object.__setattr__(self, "tags", _clean_tags(self.tags))

    def merged(self, other: Attribution) -> Attribution:
        """Fields of `other` that are set win over ours; tags are merged."""
        values: dict[str, Any] = {
            name: getattr(other, name) if getattr(other, name) is not None else getattr(self, name)
            for name in ATTRIBUTION_FIELDS
        }
        values["tags"] = {**self.tags, **other.tags}
        return Attribution(**values)

    def get(self, key: str) -> str | None:
        """Value of an attribution field, or of a tag when `key` is `tag:NAME`."""
        if key.startswith("tag:"):
            return self.tags.get(key[4:])
        if key in ATTRIBUTION_FIELDS:
            value: str | None = getattr(self, key)
            return value
        raise ValidationError("attribution", f"unknown field {key!r}")


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """The cost of one event: total, per-slice amounts, provenance and the price reference used.

    For `unpriced` events `total` is the configured fallback price: it counts against budgets and is
    reported as unpriced, never as a silent $0.
    """

    total: Decimal
    source: CostSource
    slices: Mapping[str, Decimal] = field(default_factory=dict)
    price_ref: str | None = None


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One priced (or to-be-priced) usage record. `id` is the idempotency key.

    `provider` and `model` are the canonical names once the event is priced (the price catalog's provider
    and model ids: `claude` -> `anthropic`, `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`); budgets and
    reports use them. `given_provider` / `given_model` keep the names the caller gave where they differ
    (None: the same as the canonical name); the event is priced by the names given.

    An `id` longer than 255 characters is stored as its `event_key` (a hash), the id as given kept in
    `given_id` (`original_id` is the id as given either way).

    `provider_response_id` (`chatcmpl-...`, `msg_...`) and `provider_request_id` (the `x-request-id` /
    `request-id` header) are what the provider said about the call. They are kept for search, never used as
    the event's id: servers reuse them (Ollama draws response ids from 999 values).
    """

    id: str
    occurred_at: datetime
    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)
    attribution: Attribution = field(default_factory=Attribution)
    source: EventSource = EventSource.SDK
    status: EventStatus = EventStatus.OK
    duration_ms: int | None = None
    service_tier: str | None = None
    provider_cost: Decimal | None = None
    cost: CostBreakdown | None = None
    given_provider: str | None = None
    given_model: str | None = None
    provider_response_id: str | None = None
    provider_request_id: str | None = None
    given_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValidationError("id", f"expected a non-empty string, got {self.id!r}")
        if len(self.id) > MAX_ID_LENGTH:
            object.__setattr__(self, "given_id", self.id)
            object.__setattr__(self, "id", event_key(self.id))
        elif self.given_id is not None and (
            not isinstance(self.given_id, str) or event_key(self.given_id) != self.id
        ):
            raise ValidationError("given_id", f"{self.given_id!r} is not the id {self.id!r} was made from")
        occurred_at = ensure_utc(self.occurred_at)
        if not date_in_range(occurred_at):
            raise ValidationError("occurred_at", date_range_message(occurred_at))
        object.__setattr__(self, "occurred_at", occurred_at)
        for name in ("provider", "model"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(name, f"expected a non-empty string, got {value!r}")
        for name, canonical in (("given_provider", self.provider), ("given_model", self.model)):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(name, f"expected a non-empty string or None, got {value!r}")
            if value == canonical:
                object.__setattr__(self, name, None)
        for name in ("provider_response_id", "provider_request_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(name, f"expected a string or None, got {value!r}")
            if value == "":
                object.__setattr__(self, name, None)
        if not isinstance(self.usage, Usage):
            raise ValidationError("usage", f"expected a Usage, got {type(self.usage).__name__}")
        if not isinstance(self.attribution, Attribution):
            raise ValidationError(
                "attribution", f"expected an Attribution, got {type(self.attribution).__name__}"
            )
        object.__setattr__(self, "source", _enum(EventSource, self.source, "source"))
        object.__setattr__(self, "status", _enum(EventStatus, self.status, "status"))
        if self.duration_ms is not None:
            check_count("duration_ms", self.duration_ms)
        if self.provider_cost is not None:
            given: object = self.provider_cost
            if isinstance(given, bool) or not isinstance(given, Decimal | int | str):
                raise ValidationError("provider_cost", f"expected a Decimal amount, got {given!r}")
            amount = Decimal(given)
            if not amount.is_finite() or amount < 0:
                raise ValidationError("provider_cost", f"expected a finite non-negative amount, got {amount}")
            if amount > MAX_USD:
                raise ValidationError("provider_cost", f"expected at most $100,000,000, got {amount}")
            object.__setattr__(self, "provider_cost", amount)

    @classmethod
    def create(
        cls,
        *,
        provider: str,
        model: str,
        id: str | None = None,
        occurred_at: datetime | None = None,
        input_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        output_tokens: int = 0,
        reasoning_tokens: int = 0,
        requests: int = 1,
        web_search_requests: int = 0,
        project: str | None = None,
        agent: str | None = None,
        session: str | None = None,
        run: str | None = None,
        task: str | None = None,
        task_type: str | None = None,
        plan: str | None = None,
        user: str | None = None,
        tags: Mapping[str, str] | None = None,
        source: EventSource | str = EventSource.SDK,
        status: EventStatus | str = EventStatus.OK,
        duration_ms: int | None = None,
        service_tier: str | None = None,
        provider_cost: Decimal | None = None,
        provider_response_id: str | None = None,
        provider_request_id: str | None = None,
    ) -> UsageEvent:
        """Build an event from flat keyword arguments; `id` and `occurred_at` default to new / now."""
        return cls(
            id=id if id is not None else new_event_id(),
            occurred_at=occurred_at if occurred_at is not None else default_now(),
            provider=provider,
            model=model,
            usage=Usage(
                input_tokens=input_tokens,
                cache_read_tokens=cache_read_tokens,
                cache_write_tokens=cache_write_tokens,
                cache_write_1h_tokens=cache_write_1h_tokens,
                output_tokens=output_tokens,
                reasoning_tokens=reasoning_tokens,
                requests=requests,
                web_search_requests=web_search_requests,
            ),
            attribution=Attribution(
                project=project,
                agent=agent,
                session=session,
                run=run,
                task=task,
                task_type=task_type,
                plan=plan,
                user=user,
                tags=dict(tags or {}),
            ),
            source=_enum(EventSource, source, "source"),
            status=_enum(EventStatus, status, "status"),
            duration_ms=duration_ms,
            service_tier=service_tier,
            provider_cost=provider_cost,
            provider_response_id=provider_response_id,
            provider_request_id=provider_request_id,
        )

    @property
    def original_id(self) -> str:
        """The id as the caller (or the log) gave it; `id` differs only for ids over 255 characters."""
        return self.given_id or self.id

    @property
    def names_given(self) -> tuple[str, str]:
        """The provider and model as the caller named them (what the event is priced by)."""
        return (self.given_provider or self.provider, self.given_model or self.model)

    @property
    def cost_total(self) -> Decimal:
        """The event's cost in USD (zero until priced)."""
        return self.cost.total if self.cost is not None else Decimal(0)

    def with_cost(self, cost: CostBreakdown) -> UsageEvent:
        return replace(self, cost=cost)

    def snapshot_key(self) -> tuple[int, datetime]:
        """Order of snapshots of one id: more tokens wins, then the later time. A higher key replaces."""
        return (self.usage.total_tokens, self.occurred_at)
