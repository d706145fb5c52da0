"""The shared period flags: one definition, the same place in every command's options."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer

from costwarden.cli.reporting import NO_PERIOD, PeriodFlags, period_options

ALL = ["today", "yesterday", "this_week", "this_month", "last_30_days", "start", "end"]


def test_period_options_replace_the_period_parameter_in_place() -> None:
    seen: list[PeriodFlags] = []

    @period_options()
    def command(
        ctx: typer.Context, before: int = 1, period_flags: PeriodFlags = NO_PERIOD, after: int = 2
    ) -> None:
        seen.append(period_flags)

    names = list(inspect.signature(command).parameters)
    assert names == ["ctx", "before", *ALL, "after"]
    command(None, before=1, today=False, yesterday=True, this_week=False, this_month=False,
            last_30_days=False, start=None, end=None, after=3)  # fmt: skip
    assert seen == [PeriodFlags(yesterday=True)]
    assert seen[0].given and not NO_PERIOD.given


def test_skipped_flags_are_not_offered() -> None:
    @period_options(skip=("today", "yesterday"))
    def command(period_flags: PeriodFlags = NO_PERIOD) -> None:
        pass

    assert list(inspect.signature(command).parameters) == ALL[2:]


def test_a_command_without_the_parameter_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        period_options()(lambda: None)


def test_resolve_matches_the_flags() -> None:
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    utc = ZoneInfo("UTC")
    assert PeriodFlags(today=True).resolve(utc, at=at).start == datetime(2026, 11, 23, tzinfo=UTC)
    span = PeriodFlags(start="2026-11-01", end="2026-11-02").resolve(utc, at=at)
    assert (span.start, span.end) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert NO_PERIOD.resolve(utc, default="last-30-days", at=at).label.startswith("Last 30 days")


@pytest.mark.parametrize("command", ["report", "top", "trends", "analyze", "export", "insights"])
def test_every_reporting_command_offers_the_flags(capsys: pytest.CaptureFixture[str], command: str) -> None:
    from costwarden.cli import main

    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    flags = ["--this-week", "--this-month", "--last-30-days", "--from", "--to"]
    if command != "insights":
        flags = ["--today", "--yesterday", *flags]
    positions = [re.search(rf"{flag}\b", out).start() for flag in flags]  # type: ignore[union-attr]
    assert positions == sorted(positions)


def test_a_compact_iso_date_means_the_whole_day_like_the_extended_form() -> None:
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    utc = ZoneInfo("UTC")
    compact = PeriodFlags(start="20261122", end="20261122").resolve(utc, at=at)
    extended = PeriodFlags(start="2026-11-22", end="2026-11-22").resolve(utc, at=at)
    assert (compact.start, compact.end) == (extended.start, extended.end)
    assert compact.end == datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("flags", "label"),
    [
        (PeriodFlags(start="2026-11-22", end="2026-11-22"), "2026-11-22"),
        (PeriodFlags(start="2026-11-20", end="2026-11-22"), "2026-11-20 to 2026-11-22"),
        (PeriodFlags(end="2026-11-22"), "Through 2026-11-22"),
        (PeriodFlags(end="2026-11-22T10:00:00Z"), "Until 2026-11-22T10:00:00+00:00"),
        (PeriodFlags(start="2026-11-20"), "Since 2026-11-20"),
    ],
)
def test_explicit_range_labels_name_the_days_included(flags: PeriodFlags, label: str) -> None:
    assert flags.resolve(ZoneInfo("UTC"), at=datetime(2026, 11, 23, 12, tzinfo=UTC)).label == label


@pytest.mark.parametrize(
    ("command", "offered"),
    [
        ("report", "table|json|csv|summary"),
        ("top", "table|json|csv"),
        ("trends", "table|json|csv"),
        ("analyze", "table|json"),
        ("forecast", "table|json"),
        ("insights", "table|json"),
    ],
)
def test_format_choices_are_the_ones_the_command_offers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, offered: str
) -> None:
    from costwarden.cli import main

    assert main([command, "--help"]) == 0
    assert f"--format <{offered}>" in capsys.readouterr().out
    db = f"sqlite:///{tmp_path / 'x.db'}"
    for choice in ("table", "json", "csv", "summary"):
        if choice not in offered.split("|"):
            assert main(["--db", db, command, "--format", choice]) == 2
            assert "--format" in capsys.readouterr().err
