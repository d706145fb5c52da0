"""`costwarden top`: the biggest spenders, exactly as the events add up."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from report_helpers import BERLIN, Filled, filled_db, oracle, run, run_json

from costwarden.reports.formats import money
from costwarden.reports.periods import local_midnight

__all__ = ["filled_db"]

MONTH = (local_midnight(date(2026, 11, 1), BERLIN), local_midnight(date(2026, 12, 1), BERLIN))
KINDS = {
    "--sessions": ("session",),
    "--projects": ("project",),
    "--agents": ("agent",),
    "--models": ("provider", "model"),
    "--runs": ("run",),
    "--users": ("user",),
}


@pytest.mark.parametrize("flag", sorted(KINDS))
def test_top_ranks_exactly(capsys: pytest.CaptureFixture[str], filled_db: Filled, flag: str) -> None:
    keys = KINDS[flag]
    data = run_json(capsys, filled_db.args("top", flag, "--limit", "3", "--json"))
    expected = [
        r for r in oracle(filled_db.truth, keys, BERLIN, *MONTH) if any(v is not None for v in r.key)
    ][:3]
    assert data["schema"] == "costwarden.top/1"
    assert [row["key"] for row in data["rows"]] == [dict(zip(keys, r.key, strict=True)) for r in expected]
    assert [row["cost"] for row in data["rows"]] == [money(r.cost) for r in expected]
    assert [row["rank"] for row in data["rows"]] == [1, 2, 3][: len(expected)]


def test_top_table_csv_periods_and_errors(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    code, out, _ = run(capsys, filled_db.args("top", "--limit", "5", "--show-details"))
    assert code == 0 and "Top sessions" in out and "cache read" in out and "project" in out
    code, out, _ = run(capsys, filled_db.args("top", "--projects", "--format", "csv", "--last-30-days"))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and rows[0]["cost"]
    data = run_json(capsys, filled_db.args("top", "--agents", "--today", "--json"))
    assert data["period"]["label"].startswith("Today")
    data = run_json(
        capsys,
        filled_db.args(
            "top",
            "--models",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-10",
            "--where",
            "project=data",
            "--json",
        ),
    )
    lo, hi = local_midnight(date(2026, 11, 1), BERLIN), local_midnight(date(2026, 11, 11), BERLIN)
    expected = oracle(filled_db.truth, ("provider", "model"), BERLIN, lo, hi, {"project": "data"})
    assert [row["cost"] for row in data["rows"]] == [money(r.cost) for r in expected][:10]
    assert run(capsys, filled_db.args("top", "--sessions", "--projects"))[0] == 2
    assert run(capsys, filled_db.args("top", "--limit", "0"))[0] == 2
