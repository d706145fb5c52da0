"""Honest import summaries: inserted, replaced and unchanged events are counted
separately, the summary's cost is the ledger's change, and events older than the retention horizon are
refused and said so (they would never appear in reports)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from costwarden.cli import main
from costwarden.config import RetentionConfig
from costwarden.importers import ClaudeCodeParser, find_files, import_files
from costwarden.ledger import Ledger
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.retention import apply_retention
from costwarden.storage.ledger import EventQuery
from costwarden.storage.sql.ledger import open_ledger
from costwarden.storage.sql.rollup_store import RollupStore
from costwarden.testing.agent_logs import claude_assistant, write
from costwarden.warden import Warden


def _at(n: int, day: datetime) -> str:
    return (day + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")


def session(path: Path, first: int, count: int, day: datetime = datetime(2026, 11, 20, tzinfo=UTC)) -> Path:
    """`count` messages, each streamed as three snapshots (1, 50 and 400 + n output tokens)."""
    lines = []
    for n in range(first, first + count):
        for output in (1, 50, 400 + n):
            lines.append(
                claude_assistant(message_id=f"msg_{n}", request_id=f"req_{n}", at=_at(n, day), output=output)
            )
    return write(path, lines)


def test_summary_counts_what_the_ledger_stored(tmp_path: Path, ledger: Ledger) -> None:
    warden = Warden(ledger=ledger)
    session(tmp_path / "a" / "s1.jsonl", 0, 30)
    # snapshots of one message split over batches (batch size 7): the later one replaces the earlier
    first = import_files(warden, ClaudeCodeParser(), find_files([tmp_path / "a"]), batch_size=7)
    (total,) = ledger.totals()
    assert (first.inserted, first.events) == (30, 30) == (total.events, total.events)
    assert first.replaced > 0
    assert first.cost == total.cost
    assert sum(cost for _, cost in first.by_model.values()) == total.cost
    # a resumed session copies 20 of those messages into a new file, and 5 new ones follow
    session(tmp_path / "b" / "s2.jsonl", 10, 20)
    session(tmp_path / "b" / "s3.jsonl", 30, 5)
    second = import_files(warden, ClaudeCodeParser(), find_files([tmp_path / "b"]))
    (after,) = ledger.totals()
    assert (second.inserted, second.replaced, second.unchanged) == (5, 0, 20)
    assert after.events == total.events + second.inserted
    assert second.cost == after.cost - total.cost
    # a later snapshot with more output tokens replaces the stored one: the cost change only
    day = datetime(2026, 11, 20, tzinfo=UTC)
    later = claude_assistant(message_id="msg_3", request_id="req_3", at=_at(3, day), output=5000)
    write(tmp_path / "c" / "s4.jsonl", [later])
    third = import_files(warden, ClaudeCodeParser(), find_files([tmp_path / "c"]))
    (last,) = ledger.totals()
    assert (third.inserted, third.replaced, third.unchanged, third.events) == (0, 1, 0, 0)
    assert third.cost == last.cost - after.cost > 0


NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))


def test_events_older_than_the_retention_horizon_are_refused_and_said(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = open_ledger(url)
    store = RollupStore(ledger.engine)
    warden = Warden(ledger=ledger)
    session(tmp_path / "recent" / "r.jsonl", 0, 3, day=NOW - timedelta(days=2))
    import_files(warden, ClaudeCodeParser(), find_files([tmp_path / "recent"]))
    apply_retention(store, RetentionConfig(detailed_days=30), now=NOW, tz=ZoneInfo("UTC"))
    horizon = store.coverage().events_before
    assert horizon is not None
    aggregator = Aggregator(ledger, ZoneInfo("UTC"), store)
    before = aggregator.total()
    session(tmp_path / "old" / "o.jsonl", 100, 4, day=NOW - timedelta(days=60))
    session(tmp_path / "old" / "n.jsonl", 200, 2, day=NOW - timedelta(days=1))
    ledger.close()
    code = main(["--db", url, "import", "claude-code", str(tmp_path / "old"), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    summary = json.loads(out)
    assert summary["older_than_retention"] == 4
    assert summary["retention_horizon"] == horizon.isoformat().replace("+00:00", "Z")
    assert summary["inserted"] == summary["events"] == 2
    ledger = open_ledger(url)
    try:
        aggregator = Aggregator(ledger, ZoneInfo("UTC"), RollupStore(ledger.engine))
        after = aggregator.total()
        assert after.events - before.events == 2
        assert Decimal(summary["cost_usd"]) == after.cost - before.cost
        assert aggregator.total(EventQuery(end=horizon)).events == 0  # nothing hidden in the past
    finally:
        ledger.close()
    session(tmp_path / "old" / "p.jsonl", 300, 1, day=NOW - timedelta(days=90))
    code = main(["--db", url, "import", "claude-code", str(tmp_path / "old")])
    out, _ = capsys.readouterr()
    assert code == 0 and "0 new events" in out
    assert f"refused 1 events from before {summary['retention_horizon']}" in out
