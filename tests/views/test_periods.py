"""Period resolution without the CLI: named periods at a given "now", `--from`/`--to`, and errors that
name the flag."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags, parse_when

AT = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already the 24th in Berlin
BERLIN = ZoneInfo("Europe/Berlin")


def test_named_periods_are_cut_in_the_timezone_at_the_given_moment() -> None:
    today = PeriodFlags(today=True).resolve(BERLIN, at=AT)
    assert (today.start, today.end) == (
        datetime(2026, 11, 23, 23, tzinfo=UTC),
        datetime(2026, 11, 24, 23, tzinfo=UTC),
    )
    assert NO_PERIOD.resolve(BERLIN, at=AT).label == "November 2026"
    assert (
        NO_PERIOD.resolve(BERLIN, default="last-30-days", at=AT).label
        == "Last 30 days (2026-10-26 to 2026-11-24)"
    )
    assert not NO_PERIOD.given and PeriodFlags(end="2026-11-01").given


def test_an_explicit_range_includes_the_whole_last_day() -> None:
    span = PeriodFlags(start="2026-11-01", end="2026-11-02").resolve(BERLIN, at=AT)
    assert (span.start, span.end) == (
        datetime(2026, 10, 31, 23, tzinfo=UTC),
        datetime(2026, 11, 2, 23, tzinfo=UTC),
    )
    assert span.label == "2026-11-01 to 2026-11-02"
    since = PeriodFlags(start="2026-11-01T12:00:00Z").resolve(BERLIN, at=AT)
    assert since.start == datetime(2026, 11, 1, 12, tzinfo=UTC) and since.label.startswith("Since ")


@pytest.mark.parametrize(
    ("flags", "option", "said"),
    [
        (PeriodFlags(today=True, this_week=True), None, "choose one period"),
        (PeriodFlags(today=True, start="2026-11-01"), None, "choose one period"),
        (PeriodFlags(start="yesterday-ish"), "--from", "expected an ISO-8601 date"),
        (PeriodFlags(end="1999-12-31"), "--to", "1999-12-31"),
        (PeriodFlags(start="2026-11-02", end="2026-11-01T00:00:00Z"), "--to", "--to must be after --from"),
    ],
)
def test_a_bad_period_names_its_flag(flags: PeriodFlags, option: str | None, said: str) -> None:
    with pytest.raises(QueryError) as caught:
        flags.resolve(BERLIN, at=AT)
    assert caught.value.option == option and said in caught.value.message


def test_parse_when_reads_dates_in_the_timezone() -> None:
    assert parse_when("2026-11-23", "--at", BERLIN) == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert parse_when("2026-11-23T10:00:00", "--at") == datetime(2026, 11, 23, 10, tzinfo=UTC)
    with pytest.raises(QueryError) as caught:
        parse_when("0001-01-01T00:00:00+05:00", "--at")
    assert caught.value.option == "--at"
