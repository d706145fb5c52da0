"""Importing in two processes: the same ledger, offsets and figures as one process; a worker's error or
death is the import's; only ledgers another process can open are shared."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from costwarden.importers import ClaudeCodeParser, find_files, import_files
from costwarden.importers.common import MemoryOffsetStore, offsets_for
from costwarden.importers.parallel import import_shared, project_of, split, worth_sharing
from costwarden.importers.stats import ImportStats
from costwarden.ledger import MemoryLedger
from costwarden.storage.sql.ledger import open_ledger
from costwarden.testing.agent_logs import claude_assistant, claude_user, write
from costwarden.warden import Warden

pytestmark = pytest.mark.forks_threads

MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001")


def _tree(root: Path, files: int = 6, messages: int = 40) -> Path:
    """Sessions of streamed messages, two per project; the first message of each file also sits in the
    other file of its project (a resumed session), and each file has a malformed line."""
    for index in range(files):
        session = f"sess-{index}"
        cwd = f"/home/dev/project-{index % 3}"
        lines = [claude_user(session, cwd, "2026-11-20T09:00:00.000Z")]
        shared = (index + files // 2) % files
        numbers = [(shared, 0), *((index, n) for n in range(messages))]
        for owner, n in numbers:
            at = f"2026-11-20T10:{n % 60:02d}:{index:02d}.000Z"
            for output in (1, 50 + n, 200 + n * 3):
                lines.append(
                    claude_assistant(
                        message_id=f"msg_{owner}_{n}",
                        request_id=f"req_{owner}_{n}",
                        at=f"2026-11-20T10:{n % 60:02d}:{owner:02d}.000Z" if owner != index else at,
                        output=output,
                        session=session,
                        cwd=cwd,
                        model=MODELS[(owner + n) % 3],
                    )
                )
        lines.insert(5, '{"type":"assistant","message":{"usage":{"input_tokens":-1}}')
        write(root / "projects" / cwd.replace("/", "-") / f"{session}.jsonl", lines)
    return root / "projects"


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        events = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
        offsets = conn.execute(
            "SELECT source, path, position, lines FROM import_offsets ORDER BY path"
        ).fetchall()
    recorded_at = 31  # differs from run to run
    return [row[:recorded_at] + row[recorded_at + 1 :] for row in events] + offsets


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return _tree(tmp_path / "logs")


def _import(db: Path, logs: Path, processes: int) -> ImportStats:
    with open_ledger(f"sqlite:///{db}") as ledger, Warden(ledger=ledger) as warden:
        return import_files(warden, ClaudeCodeParser(), find_files([logs]), batch_size=7, processes=processes)


def test_two_processes_write_what_one_writes(tmp_path: Path, logs: Path) -> None:
    one = _import(tmp_path / "one.db", logs, 1)
    two = _import(tmp_path / "two.db", logs, 2)
    assert _rows(tmp_path / "two.db") == _rows(tmp_path / "one.db")
    assert len(_rows(tmp_path / "one.db")) == 6 * 40 + 6
    for name in ("files", "files_read", "bytes_read", "lines", "malformed", "records"):
        assert getattr(two, name) == getattr(one, name), name
    assert sorted(map(str, two.malformed_at)) == sorted(map(str, one.malformed_at))
    assert one.malformed == 6
    with open_ledger(f"sqlite:///{tmp_path / 'two.db'}") as ledger:
        (total,) = ledger.totals()
    assert total.cost == one.cost
    again = _import(tmp_path / "two.db", logs, 2)
    assert (again.bytes_read, again.inserted) == (0, 0)


BUDGETS = """\
budgets:
  - {id: per-project, scope: project, period: total, cost_usd: 1000000}
  - {id: per-session, scope: session, period: total, tokens: 100000000000}
"""


def _counters(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT key, spent_cost, spent_tokens, spent_requests FROM budget_counters ORDER BY key"
        ).fetchall()


def test_budget_counters_are_those_of_one_process(tmp_path: Path, logs: Path) -> None:
    from costwarden.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text(BUDGETS, encoding="utf-8")
    for name, processes in (("one", 1), ("two", 2)):
        settings = load_settings(str(config), database=f"sqlite:///{tmp_path / name}.db")
        with Warden(settings) as warden:
            import_files(warden, ClaudeCodeParser(), find_files([logs]), batch_size=5, processes=processes)
    counted = _counters(tmp_path / "one.db")
    assert len(counted) == 3 + 6  # three projects, six sessions
    assert _counters(tmp_path / "two.db") == counted


def test_progress_counts_every_byte_of_both_processes(tmp_path: Path, logs: Path) -> None:
    seen: list[int] = []
    with open_ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger, Warden(ledger=ledger) as warden:
        stats = import_files(
            warden, ClaudeCodeParser(), find_files([logs]), progress=seen.append, processes=2
        )
    assert sum(seen) == stats.bytes_read == sum(path.stat().st_size for path in find_files([logs]))


def test_new_lines_after_a_shared_import_are_read_once(tmp_path: Path, logs: Path) -> None:
    db = tmp_path / "l.db"
    _import(db, logs, 2)
    target = find_files([logs])[0]
    with target.open("a", encoding="utf-8") as out:
        out.write(
            claude_assistant(
                message_id="msg_new", request_id="req_new", at="2026-11-20T11:00:00.000Z", output=9
            )
            + "\n"
        )
    stats = _import(db, logs, 2)
    assert (stats.files_read, stats.inserted) == (1, 1)


def test_a_worker_error_is_raised_by_the_import(tmp_path: Path, logs: Path) -> None:
    files = find_files([logs])
    parent = os.getpid()

    def run(group: Sequence[Path], advance: object) -> ImportStats:
        if os.getpid() != parent:
            raise ValueError(f"worker could not read {len(group)} files")
        return ImportStats(files=len(group))

    with open_ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger, Warden(ledger=ledger) as warden:
        store = offsets_for(warden)
        with pytest.raises(ValueError, match=r"worker could not read [24] files"):
            import_shared(run, files, store, ClaudeCodeParser(), None)


def test_a_worker_that_dies_fails_the_import(tmp_path: Path, logs: Path) -> None:
    from costwarden.errors import LedgerError

    parent = os.getpid()

    def run(group: Sequence[Path], advance: object) -> ImportStats:
        if os.getpid() != parent:
            os._exit(3)
        return ImportStats()

    with (
        open_ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger,
        Warden(ledger=ledger) as warden,
        pytest.raises(LedgerError, match="worker process stopped"),
    ):
        import_shared(run, find_files([logs]), offsets_for(warden), ClaudeCodeParser(), None)


@pytest.fixture
def memory_warden() -> Iterator[Warden]:
    with Warden(ledger=MemoryLedger()) as warden:
        yield warden


def test_only_a_ledger_another_process_opens_is_shared(
    tmp_path: Path, logs: Path, memory_warden: Warden
) -> None:
    files = find_files([logs])
    parser = ClaudeCodeParser()
    assert not worth_sharing(memory_warden, parser, files, offsets_for(memory_warden), 2)
    with open_ledger("sqlite://") as ledger, Warden(ledger=ledger) as warden:
        assert not worth_sharing(warden, parser, files, offsets_for(warden), 2)
    with open_ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger, Warden(ledger=ledger) as warden:
        store = offsets_for(warden)
        assert worth_sharing(warden, parser, files, store, 2)
        assert not worth_sharing(warden, parser, files, store, 1)
        assert not worth_sharing(warden, parser, files[:1], store, 2)
        assert not worth_sharing(warden, parser, files, store, None)  # too little to read to pay
        assert not worth_sharing(warden, parser, files, MemoryOffsetStore(), 2)  # the worker's would be lost


def test_parsers_that_gather_state_read_in_one_process(tmp_path: Path, logs: Path) -> None:
    from costwarden.importers.codex import CodexParser

    with open_ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger, Warden(ledger=ledger) as warden:
        assert not worth_sharing(warden, CodexParser(), find_files([logs]), offsets_for(warden), 2)


def test_split_balances_bytes_and_keeps_the_order() -> None:
    sizes = dict(zip((Path(f"d{i}/f{i}") for i in range(5)), [50, 10, 40, 30, 20], strict=True))
    mine, theirs = split(list(sizes.items()))
    assert sorted([*mine, *theirs]) == list(sizes)
    assert mine == sorted(mine) and theirs == sorted(theirs)
    assert abs(sum(sizes[p] for p in mine) - sum(sizes[p] for p in theirs)) <= 10


def test_split_keeps_a_project_in_one_process() -> None:
    root = Path("/home/dev/.claude/projects")
    files = [
        root / "-a" / "s1.jsonl",
        root / "-b" / "s2.jsonl",
        root / "-a" / "s3" / "subagents" / "agent-1.jsonl",
        root / "-a" / "s4.jsonl",
        root / "-b" / "s5.jsonl",
    ]
    mine, theirs = split([(path, 10) for path in files])
    assert {project_of(path) for path in mine} == {root / "-a"}
    assert {project_of(path) for path in theirs} == {root / "-b"}
    assert mine == [files[0], files[2], files[3]]


def test_one_project_is_read_by_one_process(tmp_path: Path, logs: Path) -> None:
    files = [path for path in find_files([logs]) if project_of(path).name.endswith("project-0")]
    assert len(files) == 2
    with open_ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger, Warden(ledger=ledger) as warden:
        assert not worth_sharing(warden, ClaudeCodeParser(), files, offsets_for(warden), 2)
