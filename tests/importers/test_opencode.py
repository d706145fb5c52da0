"""OpenCode: one event per step (step-finish part) with the step's tokens and cost, a message without
steps as one event, the JSON store and the database under the same ids (a migrated store counts once),
the database read incrementally, malformed files and rows counted."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.core.usage import CostSource
from costwarden.importers.agents import agent_named, run_passes
from costwarden.importers.opencode import default_paths
from costwarden.importers.stats import ImportStats
from costwarden.ledger import Ledger, MemoryLedger
from costwarden.testing.agent_logs import (
    opencode_assistant,
    opencode_step_finish,
    opencode_tokens,
    opencode_user,
    write_opencode_db,
    write_opencode_storage,
)
from costwarden.warden import Warden

M = Decimal(1_000_000)
T0 = 1_763_632_800_000  # 2025-11-20T10:00:00Z in ms


def sonnet(*, inp: int, read: int, write: int, out: int) -> Decimal:
    return (inp * 3 + read * Decimal("0.30") + write * Decimal("3.75") + out * 15) / M


STEP1 = opencode_tokens(inp=3000, out=200, read=20000, write=1000)
STEP2 = opencode_tokens(inp=500, out=400, read=24000)
# OpenCode's own costs of the two steps (reported, so they are the events' costs)
COST1, COST2 = 0.02175, 0.0147
OLD = opencode_tokens(inp=100, out=50)  # a message of an older version: no step parts, no cost


def world() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    a1 = opencode_assistant(
        "msg_a1",
        "ses_1",
        created_ms=T0 + 1000,
        cost=COST1 + COST2,
        tokens=STEP2,  # the last step's tokens
    )
    a2 = opencode_assistant("msg_a2", "ses_1", created_ms=T0 + 60_000, tokens=OLD)
    messages = [opencode_user("msg_u1", "ses_1", created_ms=T0), a1, a2]
    parts = [
        opencode_step_finish("prt_s1", "msg_a1", "ses_1", tokens=STEP1, cost=COST1),
        opencode_step_finish("prt_s2", "msg_a1", "ses_1", tokens=STEP2, cost=COST2),
    ]
    return messages, parts  # type: ignore[return-value]


EXPECTED = Decimal(str(COST1)) + Decimal(str(COST2)) + sonnet(inp=100, read=0, write=0, out=50)


def run(warden: Warden, *roots: Path) -> ImportStats:
    return run_passes(warden, agent_named("opencode").plan(list(roots)))


def check(ledger: Ledger) -> None:
    events = {e.id: e for e in ledger.events()}
    assert set(events) == {"opencode:prt_s1", "opencode:prt_s2", "opencode:msg_a2"}
    step = events["opencode:prt_s1"]
    assert (step.usage.input_tokens, step.usage.cache_read_tokens, step.usage.cache_write_tokens) == (
        3000,
        20000,
        1000,
    )
    assert step.usage.output_tokens == 200
    assert step.cost is not None and step.cost.source == CostSource.PROVIDER_REPORTED
    assert step.cost.total == Decimal("0.02175")
    # the reported cost is what costwarden's prices give for the step's tokens
    assert step.cost.total == sonnet(inp=3000, read=20000, write=1000, out=200)
    assert (step.provider, step.model, step.attribution.agent) == (
        "anthropic",
        "claude-sonnet-4-5",
        "opencode",
    )
    assert (step.attribution.project, step.attribution.session) == ("shop", "ses_1")
    old = events["opencode:msg_a2"]
    assert old.cost is not None and old.cost.source == CostSource.COMPUTED
    (total,) = ledger.totals()
    assert total.cost == EXPECTED


def test_json_store(tmp_path: Path, ledger: Ledger) -> None:
    write_opencode_storage(tmp_path, *world())
    stats = run(Warden(ledger=ledger), tmp_path)
    assert (stats.files, stats.malformed, stats.inserted) == (5, 0, 3)
    check(ledger)


def test_database(tmp_path: Path, ledger: Ledger) -> None:
    write_opencode_db(tmp_path / "opencode.db", *world())
    stats = run(Warden(ledger=ledger), tmp_path)
    assert (stats.files, stats.malformed, stats.inserted) == (1, 0, 3)
    check(ledger)


def test_a_store_migrated_into_the_database_counts_once(tmp_path: Path) -> None:
    write_opencode_storage(tmp_path, *world())
    write_opencode_db(tmp_path / "opencode.db", *world())
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path)
    assert (stats.inserted, stats.unchanged) == (3, 3)
    (total,) = ledger.totals()
    assert total.events == 3 and total.cost == EXPECTED


def test_the_database_is_read_incrementally(tmp_path: Path, ledger: Ledger) -> None:
    db = write_opencode_db(tmp_path / "opencode.db", *world())
    warden = Warden(ledger=ledger)
    run(warden, tmp_path)
    again = run(warden, tmp_path)
    assert (again.files_read, again.inserted) == (0, 0)  # file and WAL unchanged: not opened
    a3 = opencode_assistant("msg_a3", "ses_1", created_ms=T0 + 120_000, cost=0.0045, tokens=STEP2)
    new_tokens = opencode_tokens(inp=1500, out=0)
    step = opencode_step_finish("prt_s3", "msg_a3", "ses_1", tokens=new_tokens, cost=0.0045)
    write_opencode_db(db, [a3], [step], updated_ms=T0 + 130_000)
    more = run(warden, tmp_path)
    # the new step, and the row updated at the newest time seen before (read again, counted once)
    assert (more.files_read, more.lines, more.inserted, more.unchanged) == (1, 2, 1, 1)
    (total,) = ledger.totals()
    assert total.events == 4 and total.cost == EXPECTED + Decimal("0.0045")


def test_reasoning_inside_or_beside_the_output_by_the_total(tmp_path: Path) -> None:
    openai = opencode_assistant(
        "msg_o1",
        "ses_2",
        created_ms=T0,
        model="gpt-5",
        provider="openai",
        tokens=opencode_tokens(inp=1000, out=300, reasoning=100, total=1300),
    )
    copilot = opencode_assistant(
        "msg_c1",
        "ses_2",
        created_ms=T0 + 1,
        model="gemini-2.5-pro",
        provider="github-copilot",
        tokens=opencode_tokens(inp=1000, out=300, reasoning=100, total=1400),
    )
    write_opencode_storage(tmp_path, [openai, copilot], [])
    ledger = MemoryLedger()
    run(Warden(ledger=ledger), tmp_path)
    events = {e.id: e for e in ledger.events()}
    o1, c1 = events["opencode:msg_o1"], events["opencode:msg_c1"]
    assert (o1.usage.output_tokens, o1.usage.reasoning_tokens) == (300, 100)
    assert (c1.usage.output_tokens, c1.usage.reasoning_tokens) == (400, 100)
    assert (c1.provider, c1.attribution.tags["opencode_provider"]) == ("google", "github-copilot")


def test_malformed_files_and_rows_are_counted(tmp_path: Path) -> None:
    messages, parts = world()
    write_opencode_storage(tmp_path, messages, parts)
    broken = tmp_path / "storage" / "message" / "ses_1" / "msg_bad.json"
    broken.write_text('{"id": "msg_bad", "role": "assist', encoding="utf-8")
    orphan = opencode_step_finish("prt_orphan", "msg_gone", "ses_1", tokens=STEP1, cost=0.01)
    negative = opencode_assistant("msg_neg", "ses_1", created_ms=T0, tokens=opencode_tokens(inp=-1, out=1))
    write_opencode_storage(tmp_path, [negative], [orphan])
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path)
    assert stats.malformed == 3
    reasons = " | ".join(str(m) for m in stats.malformed_at)
    assert "msg_bad.json" in reasons and "msg_gone" in reasons and "input" in reasons
    assert ledger.totals()[0].cost == EXPECTED
    db = tmp_path / "db" / "opencode.db"
    db.parent.mkdir()
    sqlite3.connect(db).close()  # an empty database: not OpenCode's
    stats = run(Warden(ledger=ledger), db)
    assert stats.malformed == 1 and "not an OpenCode database" in stats.malformed_at[0].reason


def test_default_location(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_paths() == []
    data = Path.home() / ".local" / "share" / "opencode"
    data.mkdir(parents=True)
    assert default_paths() == [data]


def test_the_storage_folder_given_by_name(tmp_path: Path) -> None:
    write_opencode_storage(tmp_path, *world())
    ledger = MemoryLedger()
    assert run(Warden(ledger=ledger), tmp_path / "storage").inserted == 3
    assert ledger.totals()[0].cost == EXPECTED
