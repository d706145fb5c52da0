"""`costwarden.clock`: the one clock, `COSTWARDEN_NOW`, and the Warden and engine sharing it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from costwarden.budgets import BudgetEngine
from costwarden.clock import SYSTEM_CLOCK, Clock, FixedClock, clock_from_env, parse_now
from costwarden.config import settings_from_mapping
from costwarden.errors import ConfigError
from costwarden.ledger import MemoryLedger
from costwarden.warden import Warden

LEAP = datetime(2028, 2, 29, 23, 30, tzinfo=UTC)


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(datetime(2028, 2, 29, 23, 30, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == datetime(2028, 2, 29, 22, 30, tzinfo=UTC) and clock.now().tzinfo is UTC
    assert clock() == clock.now().timestamp()
    clock.advance(3600)
    assert clock.at == LEAP
    clock.advance(timedelta(minutes=30))
    assert clock.now() == datetime(2028, 3, 1, tzinfo=UTC)
    clock.set(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert clock.now().year == 2026
    assert isinstance(clock, Clock) and isinstance(SYSTEM_CLOCK, Clock)


def test_a_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2028-02-29T23:30:00Z", LEAP),
        ("2028-02-29T23:30:00", LEAP),
        ("2028-03-01T00:30:00+01:00", LEAP),
        ("2028-02-29", datetime(2028, 2, 29, tzinfo=UTC)),
    ],
)
def test_costwarden_now_values(value: str, expected: datetime) -> None:
    assert parse_now(value) == expected
    assert clock_from_env({"COSTWARDEN_NOW": value}).now() == expected


def test_costwarden_now_unset_or_empty_is_the_system_clock() -> None:
    assert clock_from_env({}) is SYSTEM_CLOCK
    assert clock_from_env({"COSTWARDEN_NOW": " "}) is SYSTEM_CLOCK


def test_a_bad_costwarden_now_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="COSTWARDEN_NOW: expected an ISO-8601 datetime"):
        clock_from_env({"COSTWARDEN_NOW": "yesterday"})


def test_warden_and_engine_share_one_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FixedClock(LEAP)
    settings = settings_from_mapping({"budgets": [{"id": "d", "period": "day", "cost_usd": "5"}]})
    warden = Warden(settings, ledger=MemoryLedger(), clock=clock)
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine) and engine.clock is clock
    event = warden.record(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=1)
    assert event.occurred_at == LEAP
    clock.advance(3600)
    assert warden.record(provider="openai", model="gpt-4o", input_tokens=1).occurred_at == LEAP + timedelta(
        hours=1
    )
    monkeypatch.setenv("COSTWARDEN_NOW", "2027-01-01T00:30:00Z")
    assert Warden(ledger=MemoryLedger()).clock.now() == datetime(2027, 1, 1, 0, 30, tzinfo=UTC)


def test_the_system_clock_reads_the_moved_date() -> None:
    """Run by tests/test_boundary_dates.py with `--system-now` (skipped otherwise)."""
    import os

    expected = os.environ.get("CW_EXPECT_DAY")
    if not expected:
        pytest.skip("only under --system-now (tests/test_boundary_dates.py)")
    assert SYSTEM_CLOCK.now().date().isoformat() == expected
    assert datetime.fromtimestamp(SYSTEM_CLOCK(), UTC).date().isoformat() == expected
    assert (
        Warden(ledger=MemoryLedger()).record(provider="openai", model="gpt-4o").occurred_at.date().isoformat()
        == expected
    )
