"""Reservations held in Redis are also recorded in the SQL ledger, so a Redis that lost its data gets back
the calls in flight of every process, not only those of the process that rebuilds its counters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from costwarden.budgets import BudgetEngine
from costwarden.budgets.status import budget_status
from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.money import to_units
from costwarden.core.usage import Usage
from costwarden.errors import BudgetExceeded
from costwarden.storage.ledger import EventQuery
from costwarden.warden import Warden

pytestmark = pytest.mark.redis

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# $1000 per million tokens = $0.001 a token: 100 input + 100 max output tokens hold a $0.20 worst case.
PRICING: dict[str, Any] = {
    "custom_models": [{"provider": "cloud", "model": "big", "input": "1000", "output": "1000"}]
}


def call(tokens: int = 100) -> CallRequest:
    """A call holding `tokens` input + `tokens` output at $0.001 a token (one request id per call)."""
    return CallRequest(provider="cloud", model="big", input_tokens=tokens, max_tokens=tokens)


HELD = to_units(Decimal("0.20"))


def engine_of(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def status(warden: Warden) -> tuple[int, int]:
    """(spent, reserved) of the budget's cost as `budget status` shows it."""
    (row,) = [r for r in budget_status(engine_of(warden), NOW) if r.dimension == "cost"]
    return row.spent, row.reserved


def ledger_units(warden: Warden) -> int:
    return sum(to_units(e.cost_total) for e in warden.ledger.events(EventQuery()))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def processes(request: pytest.FixtureRequest, redis_server: str) -> Iterator[tuple[Warden, Warden]]:
    """Two processes' Wardens on one ledger (SQLite or PostgreSQL), counting in one Redis: a $0.50 daily
    budget."""
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    settings = settings_from_mapping(
        {
            "pricing": PRICING,
            "redis_url": redis_server,
            "budgets": [{"id": "daily", "period": "day", "cost_usd": "0.50"}],
        }
    )
    first = Warden(settings, database=url, clock=FixedClock(NOW))
    second = Warden(settings, database=url, clock=FixedClock(NOW))
    engine_of(first).store.flush()  # type: ignore[attr-defined]
    yield first, second
    engine_of(first).store.flush()  # type: ignore[attr-defined]
    first.close()
    second.close()


def test_another_process_sees_calls_in_flight_after_redis_lost_its_data(
    processes: tuple[Warden, Warden],
) -> None:
    first, second = processes
    in_flight = [first.admit(call()), first.admit(call())]  # $0.40 of $0.50 held by the first process
    assert status(second) == (0, 2 * HELD)
    engine_of(first).store.flush()  # type: ignore[attr-defined]  # Redis restarts empty
    assert status(second) == (0, 2 * HELD)  # the second process rebuilds: the first's calls are held
    with pytest.raises(BudgetExceeded):  # and their room is not given away
        second.admit(call())
    admitted = second.admit(call(1))
    for admission in in_flight:
        first.settle(admission, Usage(input_tokens=100, output_tokens=50), occurred_at=NOW)
    second.release(admitted)
    spent = to_units(Decimal("0.30"))
    assert ledger_units(first) == spent
    assert status(first) == status(second) == (spent, 0)


def test_the_rebuilding_process_admits_into_no_room_another_holds(processes: tuple[Warden, Warden]) -> None:
    first, second = processes
    held = [first.admit(call()), first.admit(call())]
    engine_of(first).store.flush()  # type: ignore[attr-defined]
    with pytest.raises(BudgetExceeded):  # this admission finds the counters lost and rebuilds them
        second.admit(call())
    assert status(first) == (0, 2 * HELD)
    for admission in held:
        first.release(admission)
    assert status(second) == (0, 0)
    second.release(second.admit(call()))


def test_budget_rebuild_keeps_every_process_calls_in_flight(processes: tuple[Warden, Warden]) -> None:
    first, second = processes
    held = first.admit(call())
    engine_of(first).store.flush()  # type: ignore[attr-defined]
    engine_of(second).rebuild()  # `costwarden budget rebuild`
    assert status(second) == (0, HELD)
    assert [r.id for r in engine_of(second).store.reservations()] == list(held.reservation_ids)
    first.settle(held, Usage(input_tokens=100, output_tokens=100), occurred_at=NOW)
    assert status(second) == (HELD, 0)
    assert engine_of(second).store.reservations() == []


def test_a_reservation_released_or_refused_leaves_no_record(processes: tuple[Warden, Warden]) -> None:
    first, second = processes
    held = [first.admit(call()), first.admit(call())]
    with pytest.raises(BudgetExceeded):
        second.admit(call())  # refused: nothing of it may come back after Redis loses its data
    first.release(held[0])  # released: nor this
    engine_of(first).store.flush()  # type: ignore[attr-defined]
    assert status(second) == (0, HELD)
    first.release(held[1])
    assert status(second) == (0, 0)
