"""Reset rules: rolling and fixed (daily, weekly, monthly) windows at an anchor in a timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from costwarden.quotas.resets import parse_reset

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_rolling_window_is_the_last_length_before_now() -> None:
    rule = parse_reset("rolling 5h")
    now = at("2026-12-01T15:30:00+00:00")
    assert rule.window(now, UTC_ZONE) == (now - timedelta(hours=5), None)
    assert parse_reset({"rolling": "5h"}) == rule == parse_reset("rolling: 5h")
    assert rule.spelled == "rolling 5h" and not rule.fixed


def test_daily_anchor_in_a_timezone() -> None:
    rule = parse_reset("daily 09:00")
    start, end = rule.window(at("2026-12-01T07:59:00+00:00"), BERLIN)  # 08:59 Berlin: yesterday's window
    assert start == at("2026-11-30T09:00:00+01:00") and end == at("2026-12-01T09:00:00+01:00")
    start, end = rule.window(at("2026-12-01T08:00:00+00:00"), BERLIN)  # 09:00 Berlin: a new window
    assert start == at("2026-12-01T09:00:00+01:00") and end == at("2026-12-02T09:00:00+01:00")


def test_daily_window_across_a_dst_change_is_23_hours() -> None:
    start, end = parse_reset("daily").window(at("2026-03-29T12:00:00+00:00"), BERLIN)
    assert end - start == timedelta(hours=23)  # Berlin springs forward on 2026-03-29


def test_weekly_anchor_day_and_time() -> None:
    rule = parse_reset("weekly thu 22:59")
    start, end = rule.window(at("2026-12-01T12:00:00+00:00"), UTC_ZONE)  # a Tuesday
    assert start == at("2026-11-26T22:59:00+00:00") and end == at("2026-12-03T22:59:00+00:00")
    start, _ = rule.window(at("2026-12-03T22:59:00+00:00"), UTC_ZONE)  # the reset itself opens the next
    assert start == at("2026-12-03T22:59:00+00:00")
    assert parse_reset("weekly monday").spelled == "weekly mon 00:00"


def test_monthly_day_clamps_to_short_months() -> None:
    rule = parse_reset("monthly 31 09:00")
    start, end = rule.window(at("2026-02-15T00:00:00+00:00"), UTC_ZONE)
    assert start == at("2026-01-31T09:00:00+00:00") and end == at("2026-02-28T09:00:00+00:00")
    start, end = rule.window(at("2026-12-31T10:00:00+00:00"), UTC_ZONE)
    assert start == at("2026-12-31T09:00:00+00:00") and end == at("2027-01-31T09:00:00+00:00")
    assert parse_reset("monthly").window(at("2026-12-01T00:00:00+00:00"), UTC_ZONE)[0] == at(
        "2026-12-01T00:00:00+00:00"
    )


def test_never_has_no_bounds() -> None:
    assert parse_reset("never").window(at("2026-12-01T00:00:00+00:00"), UTC_ZONE) == (None, None)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("hourly", "expected a reset rule"),
        ("daily 25:00", "time of day"),
        ("weekly someday", "weekday"),
        ("monthly 32", "day 1..31"),
        ("rolling", "duration"),
        ("rolling 400d", "366 days"),
        (5, "expected a reset rule"),
    ],
)
def test_bad_rules_say_what_was_expected(given: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_reset(given)
