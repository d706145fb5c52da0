"""`costwarden export`: every field of every event of a range, as CSV, JSON or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from report_helpers import BERLIN, Filled, filled_db, run

from costwarden.cli.render import event_to_json
from costwarden.core.calls import CallRequest
from costwarden.core.usage import Attribution, Usage
from costwarden.reports.periods import local_midnight
from costwarden.warden import Warden

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


AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_provider_ids_in_session_detail_export_and_filters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'ids.db'}"

    with Warden(database=db) as warden:
        for n, response_id in enumerate(["chatcmpl-5", "chatcmpl-5", "chatcmpl-9"]):
            admission = warden.admit(CallRequest(provider="openai", model="gpt-4o-mini", input_tokens=10))
            warden.settle(
                admission,
                Usage(input_tokens=1000, output_tokens=10 * (n + 1)),
                provider_response_id=response_id,
                provider_request_id=f"req_{n}",
                occurred_at=AT,
            )
        admission = warden.admit(
            CallRequest(
                provider="openai", model="gpt-4o-mini", input_tokens=10, attribution=Attribution(session="s1")
            )
        )
        warden.settle(
            admission,
            Usage(input_tokens=5),
            provider_response_id="chatcmpl-5",
            provider_request_id="req_s",
            occurred_at=AT,
        )
    code, out, err = run(
        capsys, ["--db", db, "export", "--format", "json", "--where", "provider_response_id=chatcmpl-5"]
    )
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 3
    assert {r["provider_request_id"] for r in rows} == {"req_0", "req_1", "req_s"}
    assert {r["provider_response_id"] for r in rows} == {"chatcmpl-5"}
    code, out, err = run(capsys, ["--db", db, "report", "--session", "s1", "--json"])
    assert code == 0, err
    (call,) = json.loads(out)["calls"]
    assert (call["provider_response_id"], call["provider_request_id"]) == ("chatcmpl-5", "req_s")
    code, out, err = run(capsys, ["--db", db, "report", "--session", "s1"])
    assert code == 0, err
    assert "chatcmpl-5" in out and "req_s" in out
    code, out, err = run(
        capsys,
        [
            "--db",
            db,
            "report",
            "--json",
            "--from",
            "2026-11-01",
            "--by",
            "model",
            "--where",
            "provider_request_id=req_1",
        ],
    )
    assert code == 0, err
    assert json.loads(out)["totals"]["events"] == 1
