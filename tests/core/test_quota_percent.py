"""The quota window arithmetic shared by `quota report` and the statusline's fast way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costwarden.core.quota_percent import fraction_now, is_current, percent_of, share_of, used_fraction

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("utilization", "limit", "used", "remaining", "expected"),
    [
        (0.42, 100, 90, 10, 0.42),  # the provider's utilization wins
        (None, 200, 50, None, 0.25),
        (None, 200, None, 150, 0.25),
        (None, 200, None, 250, 0.0),  # more left than the limit: nothing used
        (None, 100, 130, None, 1.3),  # over
        (None, None, 5, 5, None),
        (None, 0, 5, None, None),
    ],
)
def test_used_fraction(
    utilization: float | None,
    limit: int | None,
    used: int | None,
    remaining: int | None,
    expected: float | None,
) -> None:
    assert used_fraction(utilization, limit, used, remaining) == expected


def test_a_reading_is_current_inside_its_window_and_not_from_the_future() -> None:
    start = AT - timedelta(hours=5)
    assert is_current(start, start, AT) and is_current(AT, start, AT)
    assert not is_current(start - timedelta(microseconds=1), start, AT)
    assert not is_current(AT + timedelta(seconds=1), start, AT)
    assert is_current(AT - timedelta(days=400), None, AT)  # a window without a start


def test_a_passed_reset_says_nothing_used() -> None:
    assert fraction_now(0.9, AT, AT) == 0.0
    assert fraction_now(0.9, AT + timedelta(seconds=1), AT) == 0.9
    assert fraction_now(None, None, AT) is None


def test_percentages_keep_one_decimal_half_even() -> None:
    assert percent_of(0.42) == Decimal("42.0")
    assert percent_of(0.12345) == Decimal("12.3")
    assert share_of(Decimal(2), Decimal(225)) == Decimal("0.9")
    assert share_of(Decimal("0.0285"), Decimal("0.1")) == Decimal("28.5")
    assert share_of(Decimal(5), None) is None and share_of(Decimal(5), Decimal(0)) is None
