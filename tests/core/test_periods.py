from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from costwarden.core.periods import Period, PeriodKind, format_duration, parse_duration

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("30s", 30.0),
        ("1.5m", 90.0),
        ("5h", 18000.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        (45, 45.0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5 hours", "-5h", "0", True, None])
def test_parse_duration_refuses(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a"):
        parse_duration(bad)


def test_format_duration() -> None:
    assert format_duration(18000) == "5h"
    assert format_duration(90) == "90s"
    assert format_duration(86400 * 7) == "1w"


@pytest.mark.parametrize(
    ("value", "kind", "seconds"),
    [
        ("day", PeriodKind.DAY, 0),
        (" Month ", PeriodKind.MONTH, 0),
        ("rolling: 5h", PeriodKind.ROLLING, 18000),
        ("rolling 90m", PeriodKind.ROLLING, 5400),
        ({"rolling": "1d"}, PeriodKind.ROLLING, 86400),
        ("run", PeriodKind.RUN, 0),
        ("total", PeriodKind.TOTAL, 0),
    ],
)
def test_parse_period(value: object, kind: PeriodKind, seconds: float) -> None:
    period = Period.parse(value)
    assert (period.kind, period.seconds) == (kind, seconds)


def test_parse_period_refuses_unknown() -> None:
    with pytest.raises(
        ValueError, match=r"expected a period \(run, hour, day, week, month, total or 'rolling: 5h'\)"
    ):
        Period.parse("fortnight")


def test_day_starts_at_local_midnight() -> None:
    day = Period.parse("day")
    # 23:30 UTC on 2026-06-01 is 01:30 on 2026-06-02 in Berlin (CEST, +2).
    window = day.window(datetime(2026, 6, 1, 23, 30, tzinfo=UTC), BERLIN)
    assert window.start == datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 6, 2, 22, 0, tzinfo=UTC)
    # The same instant in UTC is still June 1st.
    utc_window = day.window(datetime(2026, 6, 1, 23, 30, tzinfo=UTC), UTC_ZONE)
    assert utc_window.start == datetime(2026, 6, 1, tzinfo=UTC)
    assert utc_window.key != window.key


def test_reset_one_second_before_and_after_midnight() -> None:
    day = Period.parse("day")
    midnight = datetime(2026, 6, 2, 22, 0, tzinfo=UTC)  # Berlin midnight of June 3rd
    before = day.window(midnight - timedelta(seconds=1), BERLIN)
    after = day.window(midnight, BERLIN)
    assert before.end == midnight == after.start
    assert before.key != after.key


def test_day_across_dst_change_is_23_hours() -> None:
    window = Period.parse("day").window(datetime(2026, 3, 29, 12, tzinfo=UTC), BERLIN)
    assert window.end is not None and window.start is not None
    assert window.end - window.start == timedelta(hours=23)


def test_week_starts_monday_and_month_on_the_first() -> None:
    at = datetime(2026, 12, 31, 12, tzinfo=UTC)  # a Thursday
    week = Period.parse("week").window(at, UTC_ZONE)
    assert week.start == datetime(2026, 12, 28, tzinfo=UTC)
    assert week.end == datetime(2027, 1, 4, tzinfo=UTC)
    month = Period.parse("month").window(at, BERLIN)
    assert month.start == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert month.end == datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_hour_in_a_half_hour_zone() -> None:
    india = ZoneInfo("Asia/Kolkata")
    window = Period.parse("hour").window(datetime(2026, 5, 1, 10, 10, tzinfo=UTC), india)
    assert window.start == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert window.end == datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


def test_total_and_run_never_reset() -> None:
    for name in ("total", "run"):
        period = Period.parse(name)
        window = period.window(datetime(2026, 1, 1, tzinfo=UTC), UTC_ZONE)
        assert (window.start, window.end) == (None, None)
        assert not period.resets


def test_rolling_window_slides_bucket_by_bucket() -> None:
    period = Period.parse("rolling: 5h")
    assert period.bucket_seconds == 600
    at = datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)
    window = period.window(at, UTC_ZONE)
    assert len(window.keys) == 31
    assert window.key == window.keys[-1] == period.bucket_key(at, UTC_ZONE)
    # an event 4h59m ago is inside, one 5h10m ago is not
    assert period.bucket_key(at - timedelta(hours=4, minutes=59), UTC_ZONE) in window.keys
    assert period.bucket_key(at - timedelta(hours=5, minutes=10), UTC_ZONE) not in window.keys
    later = period.window(at + timedelta(minutes=10), UTC_ZONE)
    assert later.keys[:-1] == window.keys[1:]
    # a bucket leaves the window once its end is more than 5h ago
    end = period.bucket_end(window.keys[0])
    assert end is not None
    assert window.keys[0] in period.window(end - timedelta(seconds=1), UTC_ZONE).keys
    assert window.keys[0] not in period.window(end, UTC_ZONE).keys


def test_late_event_lands_in_its_own_period() -> None:
    day = Period.parse("day")
    now = datetime(2026, 6, 2, 9, tzinfo=UTC)
    late = datetime(2026, 6, 1, 23, 59, tzinfo=UTC)
    assert day.bucket_key(late, UTC_ZONE) == day.window(late, UTC_ZONE).key != day.window(now, UTC_ZONE).key
