"""The events themselves, a page at a time: `usage_page(warden, UsageQuery(...))` answers
`GET /api/v1/usage`; `UsagePage.to_json()` is `costwarden.usage/1`, each event as `costwarden export --format
json` writes it. Pages follow the ledger's order (`occurred_at`, then id); `next_cursor` continues after the
last event given, also while other processes append."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.core.usage import UsageEvent
from costwarden.reports.export import event_to_json, write_events
from costwarden.reports.formats import period_json
from costwarden.reports.periods import Period
from costwarden.storage.codec import from_micros, to_micros
from costwarden.storage.ledger import EventQuery, WhereValue
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "USAGE_SCHEMA",
    "MAX_PAGE",
    "UsageQuery",
    "UsagePage",
    "usage_page",
    "encode_cursor",
    "decode_cursor",
]

USAGE_SCHEMA = "costwarden.usage/1"
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Events of the period (default this month; `default="all"` for every event kept) matching `where`, at
    most `limit` of them, after `cursor` (a `next_cursor` given before)."""

    period: PeriodFlags = NO_PERIOD
    where: Mapping[str, WhereValue] = field(default_factory=dict)
    limit: int = 100
    cursor: str | None = None
    default: str = "this-month"


@dataclass(frozen=True, slots=True)
class UsagePage:
    SCHEMA: ClassVar[str] = USAGE_SCHEMA

    period: Period
    events: list[UsageEvent]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": USAGE_SCHEMA,
            "period": period_json(self.period),
            "count": len(self.events),
            "events": [event_to_json(e) for e in self.events],
            "next_cursor": self.next_cursor,
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        write_events(self.events, "csv", out, event_to_json)
        return out.getvalue()


def encode_cursor(event: UsageEvent) -> str:
    """The cursor after `event`: its time and id, URL-safe."""
    raw = f"{to_micros(event.occurred_at)}:{event.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The time and id a cursor continues after; a `QueryError` naming `cursor` when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, sep, event_id = raw.partition(":")
        if not sep or not event_id or not micros.lstrip("-").isdigit():
            raise ValueError(cursor)
        return from_micros(int(micros)), event_id
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise QueryError(
            "not a cursor this API gave (use next_cursor as it was returned)", "cursor"
        ) from None


def usage_page(warden: Warden, query: UsageQuery) -> UsagePage:
    """One page of events; a bad period, filter, limit or cursor is a `QueryError` naming it."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise QueryError(f"expected 1 to {MAX_PAGE}, got {query.limit}", "limit")
    period = query.period.resolve(warden.settings.tz, default=query.default, at=warden.clock.now())
    unbounded = period.is_unbounded
    start = None if unbounded and query.period.start is None else period.start
    end = None if unbounded and query.period.end is None else period.end
    after: tuple[datetime, str] | None = None
    if query.cursor:
        after = decode_cursor(query.cursor)
        start = after[0] if start is None or after[0] > start else start
    stream = warden.ledger.events(EventQuery(start=start, end=end, where=filters_of(warden, query.where)))
    page: list[UsageEvent] = []
    more = False
    try:
        passed = after is None
        for event in stream:
            if not passed:
                assert after is not None
                if event.occurred_at == after[0]:
                    passed = event.id == after[1]
                    continue
                passed = True  # the cursor's event is gone: continue after its time
                if event.occurred_at < after[0]:
                    continue
            if len(page) == query.limit:
                more = True
                break
            page.append(event)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # a generator: its cursor is released now, also when abandoned early
    return UsagePage(period, page, encode_cursor(page[-1]) if more and page else None)
