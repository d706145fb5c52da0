"""`costwarden forecast`: month-end projection and per-budget projections, from the recent burn rate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from report_helpers import BERLIN, NOW, Filled, fill, oracle, run, run_json

from costwarden.reports.formats import money
from costwarden.reports.periods import local_midnight

BUDGETS = """
budgets:
  - id: monthly
    period: month
    cost_usd: 150
  - id: per-project
    scope: project
    period: month
    cost_usd: 40
  - id: daily
    period: day
    cost_usd: 5
    action: warn
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def budgeted(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Filled]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    yield fill(url, tmp_path, BUDGETS)


def _expected(truth: list, window: int, start: object, end: object) -> tuple[Decimal, Decimal, Decimal]:  # type: ignore[type-arg]
    spent = oracle(truth, (), BERLIN, start, NOW)[0].cost  # type: ignore[arg-type]
    recent = oracle(truth, (), BERLIN, NOW - timedelta(days=window), NOW)[0].cost
    rate = recent / window
    left = Decimal((end - NOW) // timedelta(microseconds=1)) / Decimal(86_400_000_000)  # type: ignore[operator]
    return spent, rate, spent + rate * left


def test_month_projection(capsys: pytest.CaptureFixture[str], budgeted: Filled) -> None:
    start, end = local_midnight(date(2026, 11, 1), BERLIN), local_midnight(date(2026, 12, 1), BERLIN)
    data = run_json(capsys, budgeted.args("forecast", "--json", "--next-month"))
    spent, rate, projected = _expected(budgeted.truth, 7, start, end)
    q = Decimal("1E-10")
    assert data["schema"] == "costwarden.forecast/2"
    assert data["month"]["spent"] == money(spent)
    assert data["month"]["rate_per_day"] == money(rate.quantize(q))
    assert data["month"]["projected"] == money(projected.quantize(q))
    assert data["next_month"]["days"] == "31.00"
    assert Decimal(data["next_month"]["projected"]) == (rate.quantize(q) * 31).quantize(q)
    wide = run_json(capsys, budgeted.args("forecast", "--json", "--window-days", "14"))
    assert wide["month"]["rate_per_day"] == money((_expected(budgeted.truth, 14, start, end)[1]).quantize(q))


def test_budget_projections(capsys: pytest.CaptureFixture[str], budgeted: Filled) -> None:
    data = run_json(capsys, budgeted.args("forecast", "--json"))
    budgets = {b["name"]: b for b in data["budgets"]}
    assert budgets["monthly"]["projected"] == data["month"]["projected"]
    assert budgets["monthly"]["limit"] == "150.00"
    projected = Decimal(budgets["monthly"]["projected"])
    assert budgets["monthly"]["outlook"] == ("over" if projected > 150 else "within")
    day_start = local_midnight(date(2026, 11, 23), BERLIN)
    assert budgets["daily"]["spent"] == money(oracle(budgeted.truth, (), BERLIN, day_start, NOW)[0].cost)
    assert budgets["daily"]["resets_at"] == "2026-11-23T23:00:00Z"
    assert any(name.startswith("per-project [project=") for name in budgets)
    code, out, _ = run(capsys, budgeted.args("forecast"))
    assert code == 0 and "Projected month total:" in out and "Budgets" in out and "monthly" in out


def test_report_shows_the_budget_engines_status(capsys: pytest.CaptureFixture[str], budgeted: Filled) -> None:
    assert run(capsys, budgeted.args("budget", "rebuild"))[0] == 0  # counters from the ledger
    data = run_json(capsys, budgeted.args("report", "--json"))
    engine = {(b["id"], b["scope"]): b for b in run_json(capsys, budgeted.args("budget", "status", "--json"))}
    lines = {b["id"]: b for b in data["budgets"] if b["name"] == b["id"]}
    for budget_id in ("monthly", "daily"):
        status = engine[(budget_id, "global")]
        line = lines[budget_id]
        assert line["used"] == status["spent"] and line["limit"] == status["limit"]
        assert line["remaining"] == status["remaining"] and line["percent_used"] == status["percent"]
        assert line["resets_at"] == status["resets_at"]
    assert any(
        b["id"] == "per-project" and b["name"].startswith("per-project [project=") for b in data["budgets"]
    )
    code, out, _ = run(capsys, budgeted.args("report"))
    assert code == 0 and "BUDGET STATUS" in out and "monthly" in out
