"""Reading events back: every field round-trips, order, limits, streaming, models seen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from costwarden.core.usage import (
    Attribution,
    CostBreakdown,
    CostSource,
    EventSource,
    EventStatus,
    Usage,
    UsageEvent,
)
from costwarden.ledger import EventQuery, Ledger, ModelSeen
from costwarden.storage.codec import ROW_COLUMNS, decode_row, encode_event

T0 = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
MakeEvent = Callable[..., UsageEvent]


def full_event(event_id: str = "msg_01XyZ/\u00e9\u00fc-\U0001f600") -> UsageEvent:
    """An event with every field set to a non-default value."""
    return UsageEvent(
        id=event_id,
        occurred_at=datetime(2026, 3, 29, 2, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        provider="anthropic",
        model="claude-sonnet-4-5@2026-01",
        usage=Usage(
            input_tokens=1_234,
            cache_read_tokens=30_000,
            cache_write_tokens=1_000,
            cache_write_1h_tokens=2_000,
            output_tokens=800,
            reasoning_tokens=300,
            requests=2,
            web_search_requests=3,
        ),
        attribution=Attribution(
            project="backend-api",
            agent="reviewer",
            session="s-42",
            run="run-7",
            task="T-1",
            task_type="review",
            plan="max",
            user="ann@example.com",
            tags={"team": "red", "ticket": "ABC-1", "emoji": "\U0001f680", "quote": 'say "hi"\\n'},
        ),
        source=EventSource.IMPORT,
        status=EventStatus.ERROR,
        duration_ms=4_321,
        service_tier="priority",
        provider_cost=Decimal("0.0283512345"),
        cost=CostBreakdown(
            total=Decimal("0.0283500001"),
            source=CostSource.PROVIDER_REPORTED,
            slices={
                "input": Decimal("0.003702"),
                "cache_read": Decimal("0.009000"),
                "output": Decimal("1E-12"),
                "web_search": Decimal("0.03"),
            },
            price_ref="genai-prices 0.2.3 (2026-11-01)",
        ),
    )


def test_every_field_round_trips(ledger: Ledger) -> None:
    event = full_event()
    ledger.append(event)
    stored = ledger.get(event.id)
    assert stored == event
    assert stored is not None and stored.cost is not None
    assert stored.occurred_at.tzinfo == UTC
    assert stored.occurred_at == event.occurred_at
    assert stored.cost.slices["input"] == Decimal("0.003702")
    assert str(stored.cost.slices["cache_read"]) == "0.009000"  # slices are stored as written
    assert list(ledger.events()) == [event]


def test_minimal_event_round_trips(ledger: Ledger) -> None:
    event = UsageEvent(id="m", occurred_at=T0, provider="p", model="m").with_cost(
        CostBreakdown(total=Decimal(0), source=CostSource.UNPRICED)
    )
    ledger.append_many([event])
    assert ledger.get("m") == event
    assert ledger.get("missing") is None


def test_codec_column_order() -> None:
    row = encode_event(full_event(), recorded_at=42)
    assert len(row) == len(ROW_COLUMNS)
    named = dict(zip(ROW_COLUMNS, row, strict=True))
    assert named["user_name"] == "ann@example.com"
    assert named["total_tokens"] == 1_234 + 30_000 + 1_000 + 2_000 + 800
    assert named["cost_units"] == 283500001
    assert named["provider_cost_units"] == 283512345
    assert named["recorded_at"] == 42
    assert decode_row(row) == full_event()


def test_events_order_limit_and_filters(ledger: Ledger, make_event: MakeEvent) -> None:
    times = [T0 + timedelta(minutes=m) for m in (5, 1, 3, 3, 9)]
    ids = ["e", "a", "d", "c", "b"]
    ledger.append_many(
        make_event(id=i, occurred_at=t, project="x" if i in "acd" else "y")
        for i, t in zip(ids, times, strict=True)
    )
    assert [e.id for e in ledger.events()] == ["a", "c", "d", "e", "b"]
    assert [e.id for e in ledger.events(newest_first=True)] == ["b", "e", "d", "c", "a"]
    assert [e.id for e in ledger.events(limit=2)] == ["a", "c"]
    assert [e.id for e in ledger.events(limit=2, newest_first=True)] == ["b", "e"]
    assert list(ledger.events(limit=0)) == []
    assert [e.id for e in ledger.events(EventQuery(where={"project": "x"}), newest_first=True)] == [
        "d",
        "c",
        "a",
    ]
    window = EventQuery(start=T0 + timedelta(minutes=3), end=T0 + timedelta(minutes=9))
    assert [e.id for e in ledger.events(window)] == ["c", "d", "e"]
    with pytest.raises(ValueError, match="limit"):
        list(ledger.events(limit=-1))


def test_streaming_many_events(ledger: Ledger, make_event: MakeEvent) -> None:
    events = [make_event(occurred_at=T0 + timedelta(milliseconds=i)) for i in range(5000)]
    ledger.append_many(events)
    stream = ledger.events()
    first = [next(stream) for _ in range(3)]
    assert [e.id for e in first] == [e.id for e in events[:3]]
    stream.close()  # an abandoned stream releases its connection ...
    ledger.append(make_event(occurred_at=T0 - timedelta(days=1)))  # ... and writers are not blocked
    assert sum(1 for _ in ledger.events()) == 5001


def test_models_seen(ledger: Ledger, make_event: MakeEvent) -> None:
    ledger.append_many(
        [
            make_event(cost="1", model="gpt-4o", price_ref="book 1"),
            make_event(cost="2", model="gpt-4o", price_ref="book 2"),
            make_event(
                cost="0.5", provider="acme", model="mystery", cost_source=CostSource.UNPRICED, price_ref=None
            ),
            make_event(
                cost="3", provider="anthropic", model="claude", cost_source=CostSource.PROVIDER_REPORTED
            ),
        ]
    )
    assert ledger.models_seen() == [
        ModelSeen("acme", "mystery", "unpriced", 1, Decimal("0.5"), None),
        ModelSeen("anthropic", "claude", "provider_reported", 1, Decimal(3), "test-prices 1"),
        ModelSeen("openai", "gpt-4o", "computed", 2, Decimal(3), "book 2"),
    ]
