"""`costwarden report`: every period, grouping and format, totals asserted exactly (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from report_helpers import BERLIN, NOW, Filled, expected_money, filled_db, oracle, run, run_json

from costwarden.reports.formats import TOTALS_FIELDS, money, totals_json
from costwarden.reports.periods import local_midnight
from costwarden.views.report import REPORT_SCHEMA

__all__ = ["filled_db"]


def _day(d: date) -> object:
    return local_midnight(d, BERLIN)


TODAY = NOW.astimezone(BERLIN).date()
PERIODS = {
    "--today": (_day(TODAY), _day(TODAY + timedelta(days=1))),
    "--yesterday": (_day(TODAY - timedelta(days=1)), _day(TODAY)),
    "--this-week": (_day(date(2026, 11, 23)), _day(date(2026, 11, 30))),
    "--this-month": (_day(date(2026, 11, 1)), _day(date(2026, 12, 1))),
    "--last-30-days": (_day(TODAY - timedelta(days=29)), _day(TODAY + timedelta(days=1))),
}


@pytest.mark.parametrize("flag", sorted(PERIODS))
def test_period_flags(capsys: pytest.CaptureFixture[str], filled_db: Filled, flag: str) -> None:
    start, end = PERIODS[flag]
    data = run_json(capsys, filled_db.args("report", flag, "--json"))
    assert data["totals"] == totals_json(oracle(filled_db.truth, (), BERLIN, start, end)[0])  # type: ignore[arg-type]
    assert data["period"]["timezone"] == "Europe/Berlin"


def test_default_period_is_this_month_and_from_to_are_inclusive_dates(
    capsys: pytest.CaptureFixture[str], filled_db: Filled
) -> None:
    default = run_json(capsys, filled_db.args("report", "--json"))
    assert default["totals"]["cost"] == expected_money(filled_db.truth, *PERIODS["--this-month"])  # type: ignore[arg-type]
    ranged = run_json(
        capsys, filled_db.args("report", "--from", "2026-10-01", "--to", "2026-10-31", "--json")
    )
    october = (_day(date(2026, 10, 1)), _day(date(2026, 11, 1)))
    assert ranged["totals"]["cost"] == expected_money(filled_db.truth, *october)  # type: ignore[arg-type]
    assert ranged["period"]["start"] == "2026-09-30T22:00:00Z"
    exact = run_json(
        capsys,
        filled_db.args(
            "report", "--from", "2026-11-02T10:30:00+01:00", "--to", "2026-11-20T08:00:00Z", "--json"
        ),
    )
    lo = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    hi = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert exact["totals"]["cost"] == expected_money(filled_db.truth, lo, hi)


GROUPINGS = [
    ["project"],
    ["agent"],
    ["session"],
    ["run"],
    ["task"],
    ["plan"],
    ["user"],
    ["provider"],
    ["model"],
    ["day"],
    ["hour"],
    ["tag:team"],
    ["project", "model"],
    ["day", "agent", "tag:team"],
]


@pytest.mark.parametrize("keys", GROUPINGS, ids="-".join)
def test_grouping(capsys: pytest.CaptureFixture[str], filled_db: Filled, keys: list[str]) -> None:
    args = ["report", "--last-30-days", "--json"]
    for key in keys:
        args += ["--by", key]
    data = run_json(capsys, filled_db.args(*args))
    start, end = PERIODS["--last-30-days"]
    expected = oracle(filled_db.truth, keys, BERLIN, start, end)  # type: ignore[arg-type]
    assert data["group_by"] == keys
    assert [g["key"] for g in data["groups"]] == [dict(zip(keys, r.key, strict=True)) for r in expected]
    assert [g["cost"] for g in data["groups"]] == [money(r.cost) for r in expected]
    assert sum(g["events"] for g in data["groups"]) == data["totals"]["events"]


def test_csv_is_plain_and_exact(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    code, out, _ = run(capsys, filled_db.args("report", "--this-month", "--by", "project", "--format", "csv"))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    start, end = PERIODS["--this-month"]
    expected = oracle(filled_db.truth, ("project",), BERLIN, start, end)  # type: ignore[arg-type]
    assert [r["project"] for r in rows] == [r.key[0] or "" for r in expected]
    assert [r["cost"] for r in rows] == [money(r.cost) for r in expected]
    assert list(rows[0]) == ["project", *TOTALS_FIELDS]
    code, out, _ = run(capsys, filled_db.args("report", "--format", "csv"))
    assert out.splitlines()[0].startswith("project,provider,model,events,")


def test_table_summary_and_detailed(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    code, out, _ = run(capsys, filled_db.args("--no-color", "report", "--last-30-days"))
    assert code == 0
    for section in ("SUMMARY", "BY PROJECT", "BY MODEL", "TOP SESSIONS", "Unpriced:"):
        assert section in out
    assert "\x1b[" not in out
    start, end = PERIODS["--last-30-days"]
    total = oracle(filled_db.truth, (), BERLIN, start, end)[0]  # type: ignore[arg-type]
    assert f"${total.cost:,.2f}" in out
    code, out, _ = run(capsys, filled_db.args("report", "--last-30-days", "--detailed"))
    assert "BY AGENT" in out and "BY PROVIDER" in out and "cache read" in out
    code, out, _ = run(capsys, filled_db.args("report", "--this-month", "--format", "summary"))
    assert code == 0 and out.startswith("Period: November 2026") and "Total cost: $" in out


def test_session_detail(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(capsys, filled_db.args("report", "--session", "s-007", "--json"))
    expected = oracle(filled_db.truth, (), BERLIN, where={"session": "s-007"})[0]
    assert data["schema"] == "costwarden.session/1"
    assert data["totals"] == totals_json(expected)
    assert sum(Decimal(v) for v in data["slice_cost"].values()) == expected.cost
    code, out, _ = run(capsys, filled_db.args("report", "--session", "s-007"))
    assert code == 0
    for section in ("TOKEN USAGE", "API CALLS", "COST BREAKDOWN", "EFFICIENCY", "Cost per minute:"):
        assert section in out
    assert run(capsys, filled_db.args("report", "--session", "no-such"))[0] == 2


def test_filters_and_usage_errors(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(
        capsys, filled_db.args("report", "--last-30-days", "--where", "project=frontend", "--json")
    )
    start, end = PERIODS["--last-30-days"]
    assert data["totals"]["cost"] == expected_money(filled_db.truth, start, end, {"project": "frontend"})  # type: ignore[arg-type]
    assert run(capsys, filled_db.args("report", "--today", "--this-month"))[0] == 2
    assert run(capsys, filled_db.args("report", "--by", "colour"))[0] == 2
    assert run(capsys, filled_db.args("report", "--where", "colour=red"))[0] == 2
    assert run(capsys, filled_db.args("report", "--from", "2026-11-10", "--to", "2026-11-01"))[0] == 2
    assert run(capsys, filled_db.args("report", "--from", "yesterday-ish"))[0] == 2
    assert run(capsys, filled_db.args("report", "--format", "xml"))[0] == 2


def test_json_schema_is_stable(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(capsys, filled_db.args("report", "--this-month", "--by", "model", "--json"))
    assert data["schema"] == REPORT_SCHEMA
    assert list(data) == [
        "schema",
        "generated_at",
        "period",
        "totals",
        "sessions",
        "runs",
        "average_per_session",
        "group_by",
        "groups",
        "by_project",
        "by_model",
        "top_sessions",
        "budgets",
        "answered_from",
        "basis",
    ]
    assert list(data["period"]) == ["label", "start", "end", "timezone"]
    assert list(data["totals"]) == list(TOTALS_FIELDS)
    assert list(data["groups"][0]) == ["key", *TOTALS_FIELDS, "share_percent"]
    assert list(data["by_model"][0]["key"]) == ["provider", "model"]
    assert list(data["top_sessions"][0]) == ["session", "project", *TOTALS_FIELDS]
    assert all(isinstance(data["totals"][k], str) for k in ("cost", "unpriced_cost"))


def test_top_sessions_count(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(capsys, filled_db.args("report", "--last-30-days", "--top", "2", "--json"))
    start, end = PERIODS["--last-30-days"]
    sessions = [r for r in oracle(filled_db.truth, ("session",), BERLIN, start, end) if r.key[0] is not None]  # type: ignore[arg-type]
    assert [s["session"] for s in data["top_sessions"]] == [r.key[0] for r in sessions[:2]]
    assert [s["cost"] for s in data["top_sessions"]] == [money(r.cost) for r in sessions[:2]]
    assert data["sessions"] == len(sessions)
    assert run_json(capsys, filled_db.args("report", "--top", "0", "--json"))["top_sessions"] == []
