"""`costwarden trends`: one bar per day, week or month; sums exact; every day of the period present."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from report_helpers import BERLIN, NOW, Filled, filled_db, oracle, run, run_json

from costwarden.reports.formats import money
from costwarden.reports.periods import local_midnight

__all__ = ["filled_db"]


def test_daily_trend_of_the_last_30_days(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(capsys, filled_db.args("trends", "--json"))
    today = NOW.astimezone(BERLIN).date()
    days = [today - timedelta(days=29 - i) for i in range(30)]
    assert [row["day"] for row in data["rows"]] == [d.isoformat() for d in days]
    expected = {r.key[0]: r for r in oracle(filled_db.truth, ("day",), BERLIN)}
    assert [row["cost"] for row in data["rows"]] == [
        money(expected[d.isoformat()].cost) if d.isoformat() in expected else "0.00" for d in days
    ]
    total = oracle(
        filled_db.truth,
        (),
        BERLIN,
        local_midnight(days[0], BERLIN),
        local_midnight(today + timedelta(days=1), BERLIN),
    )
    assert data["total_cost"] == money(total[0].cost)


@pytest.mark.parametrize("interval", ["week", "month"])
def test_weekly_and_monthly(capsys: pytest.CaptureFixture[str], filled_db: Filled, interval: str) -> None:
    args = ("trends", "--interval", interval, "--from", "2026-09-01", "--to", "2026-11-30", "--json")
    data = run_json(capsys, filled_db.args(*args))
    lo, hi = local_midnight(date(2026, 9, 1), BERLIN), local_midnight(date(2026, 12, 1), BERLIN)
    total = oracle(filled_db.truth, (), BERLIN, lo, hi)[0]
    assert data["total_cost"] == money(total.cost)
    assert sum(row["events"] for row in data["rows"]) == total.events
    if interval == "month":
        assert [row["month"] for row in data["rows"]] == ["2026-09", "2026-10", "2026-11"]
    else:
        assert data["rows"][0]["week"] == "2026-08-31"  # weeks are keyed by their Monday


def test_chart_and_csv(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    code, out, _ = run(capsys, filled_db.args("--no-color", "trends", "--this-month", "--width", "20"))
    assert code == 0 and "Cost per day - November 2026" in out and "█" in out and "Total $" in out
    assert "2026-11-30" in out  # days ahead are shown empty
    code, out, _ = run(capsys, filled_db.args("trends", "--this-week", "--format", "csv"))
    assert out.splitlines()[0].startswith("day,events,")
    assert len(out.splitlines()) == 8
    assert run(capsys, filled_db.args("trends", "--interval", "year"))[0] == 2
    assert run(capsys, filled_db.args("trends", "--format", "summary"))[0] == 2
