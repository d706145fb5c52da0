"""`costwarden analyze`: hour of day, day of week and model mix, from the same exact sums."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from report_helpers import BERLIN, NOW, Filled, filled_db, oracle, run, run_json

from costwarden.reports.formats import money
from costwarden.reports.periods import local_midnight

__all__ = ["filled_db"]

TODAY = NOW.astimezone(BERLIN).date()
LAST_30 = (
    local_midnight(TODAY - timedelta(days=29), BERLIN),
    local_midnight(TODAY + timedelta(days=1), BERLIN),
)


def test_by_hour_day_and_model(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(capsys, filled_db.args("analyze", "--json"))
    assert data["schema"] == "costwarden.analyze/1"
    hours: dict[str, Decimal] = defaultdict(Decimal)
    days: dict[str, Decimal] = defaultdict(Decimal)
    for row in oracle(filled_db.truth, ("hour",), BERLIN, *LAST_30):
        hours[str(row.key[0])[11:13]] += row.cost
    for row in oracle(filled_db.truth, ("day",), BERLIN, *LAST_30):
        days[
            ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[date.fromisoformat(str(row.key[0])).weekday()]
        ] += row.cost
    assert [r["hour"] for r in data["by_hour"]] == [f"{h:02d}" for h in range(24)]
    assert [r["cost"] for r in data["by_hour"]] == [money(hours[f"{h:02d}"]) for h in range(24)]
    assert {r["weekday"]: r["cost"] for r in data["by_day"]} == {k: money(v) for k, v in days.items()} | {
        k: "0.00" for k in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") if k not in days
    }
    models = oracle(filled_db.truth, ("provider", "model"), BERLIN, *LAST_30)
    assert [(r["provider"], r["model"], r["cost"]) for r in data["by_model"]] == [
        (r.key[0], r.key[1], money(r.cost)) for r in models
    ]
    assert {"average_cost_per_call", "cache_read_percent", "output_percent", "error_percent"} <= set(
        data["by_model"][0]
    )


def test_single_views_and_table(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(capsys, filled_db.args("analyze", "--by-model", "--this-month", "--json"))
    assert "by_model" in data and "by_hour" not in data and "by_day" not in data
    code, out, _ = run(capsys, filled_db.args("analyze", "--by-hour", "--by-day"))
    assert code == 0 and "By hour of day" in out and "By day of week" in out and "Peak hour" in out
    code, out, _ = run(capsys, filled_db.args("analyze", "--by-model", "--where", "agent=builder"))
    assert code == 0 and "By model" in out
    assert run(capsys, filled_db.args("analyze", "--format", "csv"))[0] == 2
