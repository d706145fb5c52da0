"""`costwarden export`: every field of every event of a range, as CSV, JSON or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from report_helpers import BERLIN, Filled, filled_db, run

from costwarden.cli.render import event_to_json
from costwarden.reports.periods import local_midnight

__all__ = ["filled_db"]


def test_json_export_has_every_field_of_every_event(
    capsys: pytest.CaptureFixture[str], filled_db: Filled
) -> None:
    code, out, _ = run(capsys, filled_db.args("export", "--format", "json"))
    assert code == 0
    exported = json.loads(out)
    expected = sorted(filled_db.truth, key=lambda e: (e.occurred_at, e.id))
    assert [e["id"] for e in exported] == [e.id for e in expected]
    assert exported[0] == event_to_json(expected[0])
    assert sum(Decimal(e["cost"]) for e in exported) == sum(e.cost_total for e in expected)


def test_csv_and_jsonl_over_a_range(
    capsys: pytest.CaptureFixture[str], filled_db: Filled, tmp_path: Path
) -> None:
    lo, hi = local_midnight(date(2026, 11, 1), BERLIN), local_midnight(date(2026, 11, 8), BERLIN)
    expected = sorted(
        (e for e in filled_db.truth if lo <= e.occurred_at < hi), key=lambda e: (e.occurred_at, e.id)
    )
    target = tmp_path / "week.csv"
    code, _, err = run(
        capsys, filled_db.args("export", "--from", "2026-11-01", "--to", "2026-11-07", "-o", str(target))
    )
    assert code == 0 and f"Exported {len(expected)} event(s)" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["id"] for r in rows] == [e.id for e in expected]
    assert list(rows[0]) == list(event_to_json(expected[0]))
    first = event_to_json(expected[0])
    assert rows[0]["cost"] == first["cost"] and json.loads(rows[0]["tags"] or "{}") == first["tags"]
    code, out, _ = run(
        capsys, filled_db.args("export", "--format", "jsonl", "--this-month", "--where", "agent=builder")
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all(line["agent"] == "builder" for line in lines)
    code, out, _ = run(capsys, filled_db.args("export", "--format", "json", "--from", "2030-01-01"))
    assert json.loads(out) == []
    assert run(capsys, filled_db.args("export", "--format", "xml"))[0] == 2
