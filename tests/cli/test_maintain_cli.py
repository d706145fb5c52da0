"""`costwarden maintain`: retention from the CLI; reports answer the same before and after."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from report_helpers import Filled, filled_db, run, run_json

from costwarden.core.usage import UsageEvent
from reports.history import priced

__all__ = ["filled_db"]

REPORTS = [
    ["report", "--this-month", "--json"],
    ["report", "--last-30-days", "--by", "project", "--by", "model", "--json"],
    ["report", "--from", "2026-07-01", "--to", "2026-09-30", "--by", "agent", "--json"],
    ["report", "--from", "2026-09-05", "--to", "2026-10-10", "--by", "day", "--json"],
    ["trends", "--interval", "month", "--from", "2026-07-01", "--json"],
    ["top", "--projects", "--from", "2026-07-01", "--json"],
]


def _strip(data: dict) -> dict:  # type: ignore[type-arg]
    data = {k: v for k, v in data.items() if k not in ("generated_at", "answered_from")}
    return json.loads(json.dumps(data))


def test_retention_keeps_every_report(
    capsys: pytest.CaptureFixture[str], filled_db: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costwarden.storage.sql.ledger import open_ledger

    old = UsageEvent.create(
        provider="openai",
        model="gpt-5",
        id="old-only-1",
        session="old-only",
        occurred_at=datetime(2026, 8, 10, 12, tzinfo=UTC),
        input_tokens=100,
    )
    with open_ledger(filled_db.url) as ledger:
        ledger.append(priced(old, 12_345_678))
    config = filled_db.config
    config.write_text(
        config.read_text() + "retention:\n  detailed_days: 30\n  daily_days: 60\n", encoding="utf-8"
    )
    before = [_strip(run_json(capsys, filled_db.args(*args))) for args in REPORTS]
    dry = run_json(capsys, filled_db.args("maintain", "--dry-run", "--json"))
    assert dry["dry_run"] and dry["events_deleted"] > 0 and dry["events_before"] == "2026-10-23T22:00:00Z"
    done = run_json(capsys, filled_db.args("maintain", "--json"))
    assert done["events_deleted"] == dry["events_deleted"] and done["hourly_rows_folded"] > 0
    assert done["months_before"] == "2026-08-31T22:00:00Z"
    after = [_strip(run_json(capsys, filled_db.args(*args))) for args in REPORTS]
    assert after == before
    code, out, _ = run(capsys, filled_db.args("maintain"))
    assert code == 0 and "Did delete 0 event(s)" in out and "Rollups" in out
    code, _, err = run(capsys, filled_db.args("report", "--from", "2026-08-03T12:00:00Z", "--json"))
    assert code == 2 and "period" in err
    assert run(capsys, filled_db.args("export", "--format", "jsonl", "--to", "2026-10-01"))[1] == ""
    code, _, err = run(capsys, filled_db.args("report", "--session", "old-only"))
    assert code == 1 and "only totals are kept" in err


def test_check_and_rebuild(capsys: pytest.CaptureFixture[str], filled_db: Filled) -> None:
    data = run_json(capsys, filled_db.args("maintain", "--check", "--json"))
    assert data["mismatched_hours"] == []
    code, out, _ = run(capsys, filled_db.args("maintain", "--check"))
    assert code == 0 and "match" in out
    from costwarden.storage.sql.ledger import open_ledger

    ledger = open_ledger(filled_db.url)
    try:
        with ledger.write() as conn:
            conn.exec_driver_sql(
                "UPDATE rollups SET cost_units = cost_units + 1 WHERE level = 'hour' "
                "AND bucket_start = (SELECT MAX(bucket_start) FROM rollups)"
            )
    finally:
        ledger.close()
    code, out, _ = run(capsys, filled_db.args("maintain", "--check"))
    assert code == 1 and "differ" in out
    data = run_json(capsys, filled_db.args("maintain", "--rebuild", "--check", "--json"))
    assert data["rebuilt_hourly_rows"] > 0 and data["mismatched_hours"] == []
