"""Every budget limit in its own unit (USD, tokens, requests, concurrent calls or runs), and one projection,
in `budget status`, `report`, `forecast` and `watch` (tables and JSON), on one seeded ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.reports.formats import money

NOW = "2026-11-16T12:00:00Z"
DAYS = ("01", "03", "05", "08", "10", "12", "13", "14", "15", "16")  # one call a day, at 10:00 UTC
CONFIG = """
budgets:
  - {id: runs, period: day, max_concurrent: 2, concurrency: runs}
  - {id: calls, period: day, max_concurrent: 5}
"""
# Each call: 100,000 input x $3/MTok + 50,000 output x $15/MTok = $1.05, 150,000 tokens, one request.
# Spent this month: 10 calls. Rate: the 6 calls of the last 7 days, per day. 14.5 days left.
PROJECTED_USD = Decimal("10.50") + Decimal("6.30") / 7 * Decimal("14.5")  # $23.55
PROJECTED_TOKENS = round(1_500_000 + 900_000 * Decimal("14.5") / 7)  # 3,364,286
PROJECTED_REQUESTS = round(1 + Decimal(6) / 7 / 2)  # today: one request, half a day left: 1.43 -> 1


class Seeded:
    def __init__(self, url: str, config: Path) -> None:
        self.base = ["--db", url, "--config", str(config)]

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        code = main([*self.base, *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    def json(self, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
        return json.loads(self.run(capsys, *args))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Seeded]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    config = tmp_path / "costwarden.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("COSTWARDEN_NOW", NOW)
    seeded = Seeded(url, config)
    seeded.run(capsys, "budget", "set", "--monthly", "50", "--id", "monthly")
    seeded.run(capsys, "budget", "set", "--period", "day", "--requests", "10", "--id", "req")
    seeded.run(capsys, "budget", "set", "--period", "month", "--tokens", "10000000", "--id", "tok")
    for day in DAYS:
        seeded.run(
            capsys,
            "record",
            "--provider",
            "anthropic",
            "--model",
            "claude-sonnet-4-5",
            "--input-tokens",
            "100000",
            "--output-tokens",
            "50000",
            "--at",
            f"2026-11-{day}T10:00:00Z",
        )
    yield seeded


def _row(text: str, name: str) -> str:
    rows = [line for line in text.splitlines() if line.replace("│", " ").split()[:1] == [name]]
    assert len(rows) == 1, text
    return rows[0]


def test_one_projection_everywhere(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    expected = money(PROJECTED_USD)
    status = {r["id"]: r for r in seeded.json(capsys, "budget", "status", "--json", "--at", NOW)}
    report = {b["id"]: b for b in seeded.json(capsys, "report", "--json")["budgets"]}
    forecast = {b["id"]: b for b in seeded.json(capsys, "forecast", "--json")["budgets"]}
    watch = {b["id"]: b for b in seeded.json(capsys, "watch", "--json")["budgets"]}
    for view in (status, report, forecast, watch):
        assert view["monthly"]["projected"] == expected
        assert view["tok"]["projected"] == PROJECTED_TOKENS
        assert view["req"]["projected"] == PROJECTED_REQUESTS
    shown = f"${PROJECTED_USD:.2f}"
    assert shown == "$23.55"
    assert shown in _row(seeded.run(capsys, "budget", "status", "--at", NOW), "monthly")
    assert shown in _row(seeded.run(capsys, "report"), "monthly")
    assert shown in _row(seeded.run(capsys, "forecast"), "monthly")
    assert shown in _row(seeded.run(capsys, "watch", "--count", "1"), "monthly")


def test_every_limit_in_its_own_unit_in_json(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    report = seeded.json(capsys, "report", "--json")
    watch = seeded.json(capsys, "watch", "--json")
    forecast = seeded.json(capsys, "forecast", "--json")
    assert report["schema"] == "costwarden.report/2"
    assert watch["schema"] == "costwarden.watch/2"
    assert forecast["schema"] == "costwarden.forecast/2"
    for budgets in (report["budgets"], watch["budgets"]):
        lines = {b["id"]: b for b in budgets}
        assert set(lines) >= {"monthly", "req", "tok"}
        req = lines["req"]
        assert (req["unit"], req["limit"], req["used"], req["remaining"]) == ("requests", 10, 1, 9)
        assert req["percent_used"] == "10.0"
        tok = lines["tok"]
        assert (tok["unit"], tok["limit"], tok["used"], tok["remaining"]) == (
            "tokens",
            10_000_000,
            1_500_000,
            8_500_000,
        )
        usd = lines["monthly"]
        assert (usd["unit"], usd["limit"], usd["used"], usd["remaining"]) == (
            "cost_usd",
            "50.00",
            "10.50",
            "39.50",
        )
    report_lines = {b["id"]: b for b in report["budgets"]}
    assert report_lines["runs"]["unit"] == "concurrent_runs"
    assert report_lines["calls"]["unit"] == "concurrent_calls"
    assert report_lines["runs"]["limit"] == 2 and report_lines["runs"]["used"] == 0
    lines = {b["id"]: b for b in forecast["budgets"]}
    assert (lines["req"]["unit"], lines["req"]["limit"], lines["req"]["spent"]) == ("requests", 10, 1)
    assert (lines["tok"]["unit"], lines["tok"]["rate_per_day"]) == ("tokens", 128_571)
    assert lines["monthly"]["unit"] == "cost_usd"
    status = {r["id"]: r for r in seeded.json(capsys, "budget", "status", "--json", "--at", NOW)}
    assert status["runs"]["unit"] == "concurrent_runs"
    assert status["calls"]["unit"] == "concurrent_calls"
    assert status["req"]["unit"] == "requests"


def test_every_limit_in_its_own_unit_in_tables(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    for args in (("budget", "status", "--at", NOW), ("report",), ("watch", "--count", "1")):
        text = seeded.run(capsys, *args)
        req = _row(text, "req")
        assert "10 requests" in req and "9 requests" in req, req
        assert "$" not in req and "token" not in req, req
        tok = _row(text, "tok")
        assert "token" in tok and "$" not in tok, tok
        runs = _row(text, "runs")
        assert "2 concurrent runs" in runs and "calls" not in runs, runs
        assert "5 concurrent calls" in _row(text, "calls")
    forecast = seeded.run(capsys, "forecast")
    req = _row(forecast, "req")
    assert "10 requests" in req and "$" not in req, req
    assert "3.4M tokens" in _row(forecast, "tok")
