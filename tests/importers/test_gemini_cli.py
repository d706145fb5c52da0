"""Gemini CLI chat recordings: the last snapshot of a message counts once (also across the legacy .json and
its .jsonl copy), cached prompt tokens are cache reads, thoughts are output, malformed lines are counted,
re-imports add nothing, new lines are read incrementally."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.importers.agents import agent_named, run_passes
from costwarden.importers.gemini_cli import default_paths
from costwarden.importers.stats import ImportStats
from costwarden.ledger import Ledger, MemoryLedger
from costwarden.testing.agent_logs import (
    append,
    gemini_legacy_session,
    gemini_message,
    gemini_meta,
    gemini_record,
    gemini_rewind,
    gemini_set,
    gemini_user,
    write,
)
from costwarden.warden import Warden

M = Decimal(1_000_000)
SESSION = "6a1f0c2e-5d1b-4c2a-9e55-0c1d2e3f4a5b"


def pro(*, uncached: int, cached: int, out: int) -> Decimal:
    """gemini-2.5-pro up to 200k prompt tokens: $1.25 input, $0.125 cached, $10 output per MTok."""
    return (uncached * Decimal("1.25") + cached * Decimal("0.125") + out * 10) / M


# message g1: prompt 12,000 of which 8,000 cached, 300 candidates, 120 thoughts, 50 tool-use prompt tokens
# message g2: prompt 15,000 of which 14,000 cached, 800 candidates
EXPECTED = pro(uncached=4000 + 50, cached=8000, out=300 + 120) + pro(uncached=1000, cached=14000, out=800)


def chats(root: Path) -> Path:
    return root / "tmp" / "shop-1" / "chats"


def session_file(root: Path) -> Path:
    """A session as Gemini CLI appends it: metadata, a user turn, the reply without tokens, the same reply
    again with its tokens, again with a tool call, a metadata update, and a second reply."""
    project = root / "tmp" / "shop-1"
    project.mkdir(parents=True, exist_ok=True)
    (project / ".project_root").write_text("/home/dev/shop", encoding="utf-8")
    g1 = {"prompt": 12000, "candidates": 300, "cached": 8000, "thoughts": 120, "tool": 50}
    return write(
        chats(root) / "session-2026-11-20T10-00-6a1f0c2e.jsonl",
        [
            gemini_meta(SESSION, "2026-11-20T10:00:00.000Z"),
            gemini_user("u1", "2026-11-20T10:00:01.000Z"),
            gemini_message("g1", "2026-11-20T10:00:05.000Z", with_tokens=False),
            gemini_message("g1", "2026-11-20T10:00:05.000Z", **g1),
            gemini_message("g1", "2026-11-20T10:00:05.000Z", **g1),  # again, with its tool calls
            gemini_set(lastUpdated="2026-11-20T10:00:06.000Z"),
            gemini_message("g2", "2026-11-20T10:01:00.000Z", prompt=15000, candidates=800, cached=14000),
        ],
    )


def run(warden: Warden, *roots: Path) -> ImportStats:
    return run_passes(warden, agent_named("gemini-cli").plan(list(roots)))


def test_snapshots_count_once_and_costs_are_exact(tmp_path: Path, ledger: Ledger) -> None:
    session_file(tmp_path)
    stats = run(Warden(ledger=ledger), tmp_path / "tmp")
    assert (stats.files, stats.lines, stats.records, stats.malformed) == (1, 7, 3, 0)
    events = {e.id: e for e in ledger.events()}
    assert set(events) == {f"gemini-cli:{SESSION}:g1", f"gemini-cli:{SESSION}:g2"}
    first = events[f"gemini-cli:{SESSION}:g1"]
    assert (first.usage.input_tokens, first.usage.cache_read_tokens) == (4050, 8000)
    assert (first.usage.output_tokens, first.usage.reasoning_tokens) == (420, 120)
    assert (first.provider, first.model) == ("google", "gemini-2.5-pro")
    attribution = first.attribution
    assert (attribution.project, attribution.agent, attribution.session) == ("shop", "gemini-cli", SESSION)
    assert attribution.tags["cwd"] == "/home/dev/shop"
    (total,) = ledger.totals()
    assert total.events == 2
    assert total.cost == EXPECTED


def test_reimport_adds_nothing_and_new_lines_are_read_incrementally(tmp_path: Path, ledger: Ledger) -> None:
    path = session_file(tmp_path)
    warden = Warden(ledger=ledger)
    run(warden, tmp_path / "tmp")
    again = run(warden, tmp_path / "tmp")
    assert (again.files, again.files_read, again.lines, again.inserted) == (1, 0, 0, 0)
    line = gemini_message("g3", "2026-11-20T10:02:00.000Z", prompt=1000, candidates=10)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line[:40])  # still being written
    assert run(warden, tmp_path / "tmp").lines == 0
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line[40:] + "\n" + gemini_rewind("g2") + "\n")
    more = run(warden, tmp_path / "tmp")
    assert (more.lines, more.inserted) == (2, 1)
    (total,) = ledger.totals()
    # a rewind hides g2 from the conversation; it was billed all the same
    assert total.events == 3
    assert total.cost == EXPECTED + pro(uncached=1000, cached=0, out=10)


def test_the_legacy_json_and_its_jsonl_copy_count_once(tmp_path: Path) -> None:
    session_file(tmp_path)
    # the same session as Gemini CLI kept it before JSONL (it copies it into the .jsonl when resumed)
    messages = [
        gemini_record("u1", "2026-11-20T10:00:01.000Z", model=None, with_tokens=False) | {"type": "user"},
        gemini_record(
            "g1", "2026-11-20T10:00:05.000Z", prompt=12000, candidates=300, cached=8000, thoughts=120, tool=50
        ),
        gemini_record("g2", "2026-11-20T10:01:00.000Z", prompt=15000, candidates=800, cached=14000),
    ]
    path = chats(tmp_path) / "session-2026-11-20T10-00-6a1f0c2e.json"
    path.write_text(gemini_legacy_session(SESSION, "2026-11-20T10:00:00.000Z", messages), encoding="utf-8")
    ledger = MemoryLedger()
    warden = Warden(ledger=ledger)
    stats = run(warden, tmp_path / "tmp")
    assert stats.files == 2 and stats.malformed == 0
    (total,) = ledger.totals()
    assert total.events == 2 and total.cost == EXPECTED
    assert run(warden, tmp_path / "tmp").files_read == 0  # unchanged files are not read again


def test_subagent_sessions_and_checkpoints(tmp_path: Path) -> None:
    session_file(tmp_path)
    write(
        chats(tmp_path) / SESSION / "sub-7.jsonl",
        [
            gemini_meta("sub-7", "2026-11-20T10:03:00.000Z", kind="subagent"),
            gemini_message(
                "s1", "2026-11-20T10:03:01.000Z", model="gemini-2.5-flash", prompt=2000, candidates=100
            ),
            # a checkpoint lists the messages again
            gemini_set(
                messages=[
                    gemini_record(
                        "s1",
                        "2026-11-20T10:03:01.000Z",
                        model="gemini-2.5-flash",
                        prompt=2000,
                        candidates=100,
                    )
                ]
            ),
        ],
    )
    ledger = MemoryLedger()
    run(Warden(ledger=ledger), tmp_path / "tmp")
    (total,) = ledger.totals()
    assert total.events == 3
    flash = (2000 * Decimal("0.30") + 100 * Decimal("2.50")) / M
    assert total.cost == EXPECTED + flash


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = session_file(tmp_path)
    append(
        path,
        [
            "{cut off",
            '["a list"]',
            gemini_message("g4", "2026-11-20T10:05:00.000Z", prompt=-5, candidates=1),
            gemini_message("g5", "yesterday", prompt=5, candidates=1),
            '{"what": "neither a message nor metadata"}',
            gemini_message("g6", "2026-11-20T10:06:00.000Z", prompt=100, candidates=1),
        ],
    )
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path / "tmp")
    assert stats.malformed == 5
    lines = [entry.line for entry in stats.malformed_at]
    assert lines == [8, 9, 10, 11, 12]
    assert "input" in stats.malformed_at[2].reason and "timestamp" in stats.malformed_at[3].reason
    (total,) = ledger.totals()
    assert total.events == 3


def test_a_broken_legacy_file_is_counted(tmp_path: Path) -> None:
    write(chats(tmp_path) / "session-old.json", ["{ not json"])
    stats = run(Warden(ledger=MemoryLedger()), tmp_path / "tmp")
    assert stats.malformed == 1 and stats.malformed_at[0].line is None


def test_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)
    assert default_paths() == []
    (Path.home() / ".gemini" / "tmp").mkdir(parents=True)
    assert default_paths() == [Path.home() / ".gemini" / "tmp"]
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere" / ".gemini" / "tmp").mkdir(parents=True)
    assert default_paths() == [tmp_path / "elsewhere" / ".gemini" / "tmp"]


def test_a_chats_folder_or_file_given_by_name(tmp_path: Path) -> None:
    path = session_file(tmp_path)
    ledger = MemoryLedger()
    assert run(Warden(ledger=ledger), chats(tmp_path)).inserted == 2
    assert run(Warden(ledger=ledger), path).unchanged == 0  # the same file: already read to its end
    (total,) = ledger.totals()
    assert total.cost == EXPECTED
