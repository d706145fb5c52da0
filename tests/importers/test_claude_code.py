"""Claude Code logs: last streaming snapshot wins, duplicates across files count once, malformed lines
are counted, re-imports add nothing, new lines are picked up incrementally."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.core.usage import CostSource, EventSource
from costwarden.importers import ClaudeCodeParser, find_files, import_files
from costwarden.ledger import Ledger
from costwarden.testing.agent_logs import append, claude_assistant, claude_user, write
from costwarden.warden import Warden

# claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 5m write, $6 1h write, $15 output per MTok
SONNET = {
    "input": Decimal(3),
    "read": Decimal("0.30"),
    "w5m": Decimal("3.75"),
    "w1h": Decimal(6),
    "out": Decimal(15),
}
M = Decimal(1_000_000)


def sonnet_cost(*, inp: int, read: int, w5m: int, w1h: int, out: int) -> Decimal:
    return (
        inp * SONNET["input"]
        + read * SONNET["read"]
        + w5m * SONNET["w5m"]
        + w1h * SONNET["w1h"]
        + out * SONNET["out"]
    ) / M


def session_file(root: Path) -> Path:
    """One session: a user turn, one message streamed as three snapshots, and a second message."""
    return write(
        root / "projects" / "-home-dev-shop" / "5f0c1c9e-sess.jsonl",
        [
            claude_user("5f0c1c9e-sess", "/home/dev/shop", "2026-11-20T10:00:00.000Z"),
            claude_assistant(
                message_id="msg_01A", request_id="req_01A", at="2026-11-20T10:00:01.000Z", output=1
            ),
            claude_assistant(
                message_id="msg_01A", request_id="req_01A", at="2026-11-20T10:00:02.000Z", output=57
            ),
            claude_assistant(
                message_id="msg_01A", request_id="req_01A", at="2026-11-20T10:00:03.000Z", output=412
            ),
            claude_assistant(
                message_id="msg_01B",
                request_id="req_01B",
                at="2026-11-20T10:01:00.000Z",
                output=90,
                input_tokens=12,
                cache_read=21000,
                write_5m=0,
                write_1h=800,
            ),
        ],
    )


def run(warden: Warden, *paths: Path):  # type: ignore[no-untyped-def]
    return import_files(warden, ClaudeCodeParser(), find_files(paths))


EXPECTED = sonnet_cost(inp=4, read=20000, w5m=1000, w1h=0, out=412) + sonnet_cost(
    inp=12, read=21000, w5m=0, w1h=800, out=90
)


def test_last_snapshot_counts_and_costs_are_exact(tmp_path: Path, ledger: Ledger) -> None:
    session_file(tmp_path)
    warden = Warden(ledger=ledger)
    stats = run(warden, tmp_path)
    assert (stats.files, stats.lines, stats.records, stats.malformed) == (1, 5, 4, 0)
    events = {e.id: e for e in ledger.events()}
    assert set(events) == {"claude-code:msg_01A:req_01A", "claude-code:msg_01B:req_01B"}
    first = events["claude-code:msg_01A:req_01A"]
    assert first.usage.output_tokens == 412  # not the first snapshot's 1
    assert first.usage.cache_write_tokens == 1000
    assert events["claude-code:msg_01B:req_01B"].usage.cache_write_1h_tokens == 800
    assert (first.attribution.project, first.attribution.session, first.attribution.agent) == (
        "shop",
        "5f0c1c9e-sess",
        "claude-code",
    )
    assert first.attribution.tags["cwd"] == "/home/dev/shop"
    assert first.source == EventSource.IMPORT
    (total,) = ledger.totals()
    assert total.events == 2
    assert total.output_tokens == 502
    assert total.cost == EXPECTED


def test_duplicates_across_files_and_snapshots_split_over_batches(tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    session_file(tmp_path / "a")
    # a resumed session copies the same messages into a new file (also a subagent sidechain file)
    session_file(tmp_path / "b")
    write(
        tmp_path / "b" / "projects" / "-home-dev-shop" / "5f0c1c9e-sess" / "subagents" / "agent-1.jsonl",
        [
            claude_assistant(
                message_id="msg_01A",
                request_id="req_01A",
                at="2026-11-20T10:00:02.500Z",
                output=57,
                sidechain=True,
            )
        ],
    )
    ledger = MemoryLedger()
    warden = Warden(ledger=ledger)
    stats = import_files(warden, ClaudeCodeParser(), find_files([tmp_path]), batch_size=1)
    assert stats.files == 3
    (total,) = ledger.totals()
    assert total.events == 2
    assert total.output_tokens == 502
    assert total.cost == EXPECTED


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    path = session_file(tmp_path)
    good = claude_assistant(
        message_id="msg_01C", request_id="req_01C", at="2026-11-20T11:00:00.000Z", output=5
    )
    append(
        path,
        [
            good[:80],  # cut off mid-write
            "not json at all",
            claude_assistant(
                message_id="msg_01D", request_id="req_01D", at="2026-11-20T11:00:00.000Z", output=5, model=""
            ),
            '{"type":"assistant","message":{"usage":{"output_tokens":1},"model":"claude-haiku-4-5","id":"m"},'
            '"timestamp":"yesterday"}',
            good,
            "",
        ],
    )
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path)
    assert stats.malformed == 4
    assert len(stats.malformed_at) == 4 and "not a JSON object" in stats.malformed_at[0].reason
    (total,) = ledger.totals()
    assert total.events == 3


def test_reimport_adds_nothing_and_new_lines_are_read_incrementally(tmp_path: Path, ledger: Ledger) -> None:
    path = session_file(tmp_path)
    warden = Warden(ledger=ledger)
    run(warden, tmp_path)
    (before,) = ledger.totals()
    again = run(warden, tmp_path)
    assert (again.files, again.files_read, again.lines, again.events) == (1, 0, 0, 0)
    assert ledger.totals() == [before]
    # a line being written (no newline yet) waits for its end
    line = claude_assistant(
        message_id="msg_01E", request_id="req_01E", at="2026-11-20T12:00:00.000Z", output=7
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line[:50])
    partial = run(warden, tmp_path)
    assert (partial.lines, partial.events) == (0, 0)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line[50:] + "\n")
    more = run(warden, tmp_path)
    assert (more.lines, more.events) == (1, 1)
    (after,) = ledger.totals()
    assert after.events == before.events + 1
    assert after.output_tokens == before.output_tokens + 7


def test_offsets_survive_a_new_process(tmp_path: Path, sqlite_url: str) -> None:
    from costwarden.storage.sql.ledger import open_ledger

    session_file(tmp_path)
    with open_ledger(sqlite_url) as first:
        run(Warden(ledger=first), tmp_path)
    with open_ledger(sqlite_url) as second:
        stats = run(Warden(ledger=second), tmp_path)
        assert stats.lines == 0
        assert second.totals()[0].cost == EXPECTED


def test_a_replaced_file_is_read_again_without_double_counting(tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    path = session_file(tmp_path)
    ledger = MemoryLedger()
    warden = Warden(ledger=ledger)
    run(warden, tmp_path)
    lines = path.read_text().splitlines()
    write(path, [claude_user("5f0c1c9e-sess", "/home/dev/other", "2026-11-21T09:00:00.000Z"), *lines[1:]])
    stats = run(warden, tmp_path)
    assert stats.lines == 5  # the first bytes changed: the file was read from the start
    assert ledger.totals()[0].cost == EXPECTED


def test_cost_usd_is_the_provider_reported_cost(tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    write(
        tmp_path / "s.jsonl",
        [
            claude_assistant(
                message_id="msg_X", request_id=None, at="2026-11-20T10:00:00Z", output=10, cost_usd=0.0123
            )
        ],
    )
    ledger = MemoryLedger()
    run(Warden(ledger=ledger), tmp_path)
    (event,) = ledger.events()
    assert event.id == "claude-code:msg_X"
    assert event.provider_cost == Decimal("0.0123")
    assert event.cost.source == CostSource.PROVIDER_REPORTED
    assert event.cost.total == Decimal("0.0123")


def test_default_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from costwarden.importers.claude_code import default_paths

    a, b = tmp_path / "a", tmp_path / "b"
    (a / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{a}, {b}")
    assert default_paths() == [a / "projects"]
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    home = Path.home()
    (home / ".claude" / "projects").mkdir(parents=True)
    assert default_paths() == [home / ".claude" / "projects"]


def test_long_message_ids_are_never_truncated_into_one_event(tmp_path: Path, ledger: Ledger) -> None:
    long = "msg_" + "x" * 300  # five messages whose ids differ only after 255 characters
    write(
        tmp_path / "projects" / "-home-dev-shop" / "s.jsonl",
        [
            claude_assistant(
                message_id=f"{long}{n}", request_id=None, at=f"2026-11-20T10:00:0{n}Z", output=10
            )
            for n in range(5)
        ],
    )
    stats = run(Warden(ledger=ledger), tmp_path)
    assert stats.records == 5
    events = list(ledger.events())
    assert len(events) == 5
    assert sorted(e.original_id for e in events) == [f"claude-code:{long}{n}" for n in range(5)]
    assert run(Warden(ledger=ledger), tmp_path).records == 0  # a re-import adds nothing
    assert len(list(ledger.events())) == 5


def test_the_message_and_request_ids_are_kept(tmp_path: Path, ledger: Ledger) -> None:
    session_file(tmp_path)
    run(Warden(ledger=ledger), tmp_path)
    ids = {(e.provider_response_id, e.provider_request_id) for e in ledger.events()}
    assert ids == {("msg_01A", "req_01A"), ("msg_01B", "req_01B")}
