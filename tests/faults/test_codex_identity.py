"""Codex event ids are a turn's identity, not a byte offset or a file.

A rollout file whose first bytes change is read again from the start; a forked (branched) session replays
its parent's `turn_context` and cumulative `token_count` lines with their original timestamps. Neither may
count a turn twice.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from costwarden.importers import CodexParser, find_files, import_files
from costwarden.ledger import Ledger
from costwarden.testing.agent_logs import (
    append,
    codex_meta,
    codex_token_count,
    codex_turn_context,
    codex_usage,
    write,
)
from costwarden.warden import Warden

AT = "2026-11-20T09:{:02d}:{:02d}.000Z"
CWD = "/home/dev/api"


def _sum(*blocks: dict[str, int]) -> dict[str, int]:
    return {key: sum(block[key] for block in blocks) for key in blocks[0]}


def test_a_rewritten_file_start_does_not_double_count(tmp_path: Path, ledger: Ledger) -> None:
    turns = [codex_usage(1000 + i, 200, 100 + i, 10) for i in range(10)]
    lines = [codex_meta("s1", CWD, AT.format(0, 0)), codex_turn_context("gpt-5", CWD, AT.format(0, 1))]
    for i, turn in enumerate(turns):
        lines.append(codex_token_count(AT.format(1, i), last=turn, total=_sum(*turns[: i + 1])))
    path = write(tmp_path / "rollout-2026-11-20T09-00-00-s1.jsonl", lines)
    warden = Warden(ledger=ledger)
    assert import_files(warden, CodexParser(), find_files([tmp_path])).events == 10
    # Codex rewrites the session's first line (a longer meta record): every later offset shifts
    meta = codex_meta("s1", CWD, AT.format(0, 0)).replace(
        '"cli_version"', '"git":{"branch":"main"},"cli_version"'
    )
    write(path, [meta, *lines[1:]])
    import_files(warden, CodexParser(), find_files([tmp_path]))
    (total,) = ledger.totals()
    assert total.events == 10
    assert total.output_tokens == sum(turn["output_tokens"] for turn in turns)


# gpt-5: $1.25 input, $0.125 cached input, $10 output per MTok
PARENT_TURN = codex_usage(314, 0, 400, 0)  # $0.0043925
BRANCH_TURN = codex_usage(994, 380, 342, 0)  # $0.004235


def _parent(root: Path) -> Path:
    return write(
        root / "2026" / "11" / "20" / "rollout-2026-11-20T09-00-00-parent.jsonl",
        [
            codex_meta("parent", CWD, AT.format(0, 0)),
            codex_turn_context("gpt-5", CWD, AT.format(0, 1)),
            codex_token_count(AT.format(0, 5), last=PARENT_TURN, total=PARENT_TURN),
        ],
    )


def _branch(root: Path) -> Path:
    return write(
        root / "2026" / "11" / "20" / "rollout-2026-11-20T09-30-00-branch.jsonl",
        [
            codex_meta("branch", CWD, AT.format(30, 0)),
            # the parent's history, replayed with its original timestamps
            codex_turn_context("gpt-5", CWD, AT.format(0, 1)),
            codex_token_count(AT.format(0, 5), last=PARENT_TURN, total=PARENT_TURN),
            # the branch's own turn
            codex_turn_context("gpt-5", CWD, AT.format(30, 1)),
            codex_token_count(AT.format(30, 9), last=BRANCH_TURN, total=_sum(PARENT_TURN, BRANCH_TURN)),
        ],
    )


def test_a_fork_does_not_count_its_parents_turns_again(tmp_path: Path, ledger: Ledger) -> None:
    _parent(tmp_path)
    _branch(tmp_path)
    import_files(Warden(ledger=ledger), CodexParser(), find_files([tmp_path]))
    (total,) = ledger.totals()
    assert total.events == 2
    assert total.input_tokens + total.cache_read_tokens + total.output_tokens == 2050
    assert total.cost == Decimal("0.0086275")  # what ccusage reports for the same pair


def test_a_fork_imported_before_its_parent_and_in_separate_runs(tmp_path: Path, ledger: Ledger) -> None:
    warden = Warden(ledger=ledger)
    _branch(tmp_path / "b")
    import_files(warden, CodexParser(), find_files([tmp_path / "b"]))
    _parent(tmp_path / "a")
    import_files(warden, CodexParser(), find_files([tmp_path / "a"]))
    (total,) = ledger.totals()
    assert (total.events, total.cost) == (2, Decimal("0.0086275"))


def test_running_totals_only_and_resent_totals_keep_their_identity(tmp_path: Path, ledger: Ledger) -> None:
    one = codex_usage(100, 0, 10, 0)
    two = codex_usage(200, 0, 20, 0)
    path = write(
        tmp_path / "rollout-x.jsonl",
        [
            codex_meta("x", CWD, AT.format(0, 0)),
            codex_turn_context("gpt-5", CWD, AT.format(0, 0)),
            codex_token_count(AT.format(0, 1), last=None, total=one),
            codex_token_count(AT.format(0, 2), last=None, total=one),  # re-sent with new rate limits
            codex_token_count(AT.format(0, 3), last=None, total=_sum(one, two)),
        ],
    )
    warden = Warden(ledger=ledger)
    import_files(warden, CodexParser(), find_files([tmp_path]))
    append(path, [codex_token_count(AT.format(0, 4), last=None, total=_sum(one, two, two))])
    import_files(warden, CodexParser(), find_files([tmp_path]))
    (total,) = ledger.totals()
    assert (total.events, total.input_tokens, total.output_tokens) == (3, 500, 50)
