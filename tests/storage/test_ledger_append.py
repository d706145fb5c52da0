"""Appending: idempotency on the id, the snapshot rule, batches, and refusal of unpriced input."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from costwarden.core.usage import CostBreakdown, CostSource, Usage, UsageEvent
from costwarden.errors import ValidationError
from costwarden.ledger import AppendOutcome, Ledger, MemoryLedger

T0 = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
MakeEvent = Callable[..., UsageEvent]


def snapshot(event: UsageEvent, *, output_tokens: int, later: int = 0, cost: str = "0.002") -> UsageEvent:
    """Another snapshot of the same streamed message: more output, optionally later."""
    assert event.cost is not None
    return dataclasses.replace(
        event,
        usage=dataclasses.replace(event.usage, output_tokens=output_tokens),
        occurred_at=event.occurred_at + timedelta(seconds=later),
        cost=dataclasses.replace(event.cost, total=Decimal(cost)),
    )


def test_every_backend_is_a_ledger(ledger: Ledger) -> None:
    assert isinstance(ledger, Ledger)
    assert ledger.upgrade() == []


def test_same_id_twice_is_one_event(ledger: Ledger, make_event: MakeEvent) -> None:
    event = make_event(cost="0.5")
    assert ledger.append(event) is AppendOutcome.INSERTED
    assert ledger.append(event) is AppendOutcome.UNCHANGED
    assert ledger.append_many([event, event]) == 0
    (total,) = ledger.totals()
    assert (total.events, total.cost) == (1, Decimal("0.5"))


def test_higher_snapshot_replaces_and_totals_follow(ledger: Ledger, make_event: MakeEvent) -> None:
    first = make_event(cost="0.001", output_tokens=10)
    ledger.append(first)
    bigger = snapshot(first, output_tokens=500, cost="0.0123")
    assert ledger.append(bigger) is AppendOutcome.REPLACED
    assert ledger.get(first.id) == bigger
    (total,) = ledger.totals()
    assert (total.events, total.output_tokens, total.cost) == (1, 500, Decimal("0.0123"))


def test_lower_or_equal_snapshot_is_ignored(ledger: Ledger, make_event: MakeEvent) -> None:
    big = make_event(cost="0.01", output_tokens=500)
    ledger.append(big)
    assert ledger.append(snapshot(big, output_tokens=10, later=60, cost="0.9")) is AppendOutcome.UNCHANGED
    # the same key (tokens and time) with different content is the same snapshot: a no-op
    assert ledger.append(dataclasses.replace(big, model="other")) is AppendOutcome.UNCHANGED
    assert ledger.get(big.id) == big
    assert ledger.totals()[0].cost == Decimal("0.01")


def test_same_tokens_later_time_replaces(ledger: Ledger, make_event: MakeEvent) -> None:
    event = make_event(output_tokens=50)
    ledger.append(event)
    later = snapshot(event, output_tokens=50, later=1, cost="0.003")
    assert ledger.append(later) is AppendOutcome.REPLACED
    assert ledger.get(event.id) == later
    earlier = snapshot(event, output_tokens=50, later=-5, cost="0.7")
    assert ledger.append(earlier) is AppendOutcome.UNCHANGED


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (0, 2, 1)])
def test_duplicates_within_a_batch_keep_the_highest_snapshot(
    ledger: Ledger, make_event: MakeEvent, order: tuple[int, ...]
) -> None:
    base = make_event(output_tokens=1, cost="0.001")
    versions = [
        base,
        snapshot(base, output_tokens=20, cost="0.02"),
        snapshot(base, output_tokens=300, cost="0.3"),
    ]
    other = make_event()
    assert ledger.append_many([versions[i] for i in order] + [other]) == 2
    assert ledger.get(base.id) == versions[2]
    (total,) = ledger.totals()
    assert (total.events, total.cost) == (2, Decimal("0.301"))


def test_batch_replaces_stored_snapshots_and_counts_changes(ledger: Ledger, make_event: MakeEvent) -> None:
    stored = [make_event(output_tokens=10) for _ in range(5)]
    assert ledger.append_many(stored) == 5
    batch = [snapshot(e, output_tokens=20) for e in stored[:2]]  # 2 replacements
    batch += [snapshot(e, output_tokens=5) for e in stored[2:4]]  # 2 older snapshots: ignored
    batch += [stored[4]]  # the same snapshot: ignored
    batch += [make_event() for _ in range(3)]  # 3 new
    assert ledger.append_many(batch) == 5
    assert ledger.totals()[0].events == 8
    assert ledger.totals()[0].output_tokens == 20 + 20 + 10 + 10 + 10 + 0


def test_large_batches_and_generators(ledger: Ledger, make_event: MakeEvent) -> None:
    events = [make_event(cost="0.0000000001", input_tokens=i) for i in range(1, 1038)]
    assert ledger.append_many(iter(events)) == 1037
    assert ledger.append_many(e for e in events) == 0
    (total,) = ledger.totals()
    assert total.events == 1037
    assert total.input_tokens == sum(range(1, 1038))
    assert total.cost == Decimal("0.0000001037")
    assert ledger.append_many([]) == 0


def unpriced(event: UsageEvent) -> UsageEvent:
    return dataclasses.replace(event, cost=None)


def test_unpriced_event_is_refused(ledger: Ledger, make_event: MakeEvent) -> None:
    with pytest.raises(ValidationError, match="not priced"):
        ledger.append(unpriced(make_event()))
    assert ledger.totals()[0].events == 0


def test_bad_input_in_a_batch_writes_nothing(ledger: Ledger, make_event: MakeEvent) -> None:
    kept = make_event(cost="1", output_tokens=1)
    ledger.append(kept)
    batch = [make_event() for _ in range(450)]
    batch.insert(300, unpriced(make_event()))
    batch.insert(10, snapshot(kept, output_tokens=99, cost="2"))
    with pytest.raises(ValidationError, match="cost"):
        ledger.append_many(batch)
    (total,) = ledger.totals()
    assert (total.events, total.cost) == (1, Decimal(1))
    assert ledger.get(kept.id) == kept
    assert ledger.get(batch[0].id) is None


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        (CostBreakdown(total=Decimal("NaN"), source=CostSource.COMPUTED), "finite"),
        (CostBreakdown(total=Decimal("-1"), source=CostSource.COMPUTED), "non-negative"),
        (CostBreakdown(total=1.5, source=CostSource.COMPUTED), "Decimal"),  # type: ignore[arg-type]
        (CostBreakdown(total=Decimal(1), source="free"), "cost.source"),  # type: ignore[arg-type]
        (CostBreakdown(total=Decimal(10) ** 9, source=CostSource.COMPUTED), "too large"),
        (CostBreakdown(total=Decimal(1), source=CostSource.COMPUTED, slices={"in": 0.5}), "slices"),  # type: ignore[dict-item]
    ],
)
def test_bad_costs_are_refused(ledger: Ledger, make_event: MakeEvent, cost: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ledger.append_many([make_event(), make_event().with_cost(cost)])
    assert ledger.totals()[0].events == 0


def test_only_events_can_be_appended(ledger: Ledger) -> None:
    with pytest.raises(ValidationError, match="UsageEvent"):
        ledger.append({"id": "x"})  # type: ignore[arg-type]


def test_memory_ledger_counts_revisions(make_event: MakeEvent) -> None:
    event = make_event(output_tokens=1)
    memory = MemoryLedger([event])
    assert len(memory) == 1
    memory.append(snapshot(event, output_tokens=2))
    memory.append(snapshot(event, output_tokens=3))
    assert memory.revision(event.id) == 3
    assert memory.revision("nope") is None


def test_memory_ledger_stores_what_sql_would_return(make_event: MakeEvent) -> None:
    # costs are kept to 10^-10 USD and times to the microsecond, as in the database
    event = make_event(cost="0.00000000014999", occurred_at=T0 + timedelta(microseconds=1))
    memory = MemoryLedger([event])
    stored = memory.get(event.id)
    assert stored is not None and stored.cost is not None
    assert stored.cost.total == Decimal("0.0000000001")
    assert stored.usage == Usage(input_tokens=100)


def test_five_distinct_long_ids_are_five_events(ledger: Ledger, make_event: MakeEvent) -> None:
    prefix = "import:" + "x" * 260  # longer than the id column: they differ only after 255 characters
    events = [make_event(id=f"{prefix}-{n}") for n in range(5)]
    for event in events[:2]:
        assert ledger.append(event) is AppendOutcome.INSERTED
    assert ledger.append_many(events[2:]) == 3
    assert ledger.append(events[0]) is AppendOutcome.UNCHANGED  # the same long id: the same event
    assert ledger.totals()[0].events == 5
    for n, event in enumerate(events):
        stored = ledger.get(f"{prefix}-{n}")  # found by the id as given, too
        assert stored is not None and stored == ledger.get(event.id)
        assert stored.original_id == f"{prefix}-{n}" and len(stored.id) <= 255
