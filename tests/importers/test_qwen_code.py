"""Qwen Code chat recordings: usageMetadata in Gemini's shape, thoughts inside or beside the candidates by
the total, a forked session's copied records counted once, malformed lines counted, incremental."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.core.usage import CostSource
from costwarden.importers.agents import agent_named, run_passes
from costwarden.importers.qwen_code import default_paths
from costwarden.importers.stats import ImportStats
from costwarden.ledger import Ledger, MemoryLedger
from costwarden.testing.agent_logs import append, qwen_assistant, qwen_user, write
from costwarden.warden import Warden

M = Decimal(1_000_000)
CWD = "/home/dev/api"


def gpt5(*, uncached: int, cached: int, out: int) -> Decimal:
    return (uncached * Decimal("1.25") + cached * Decimal("0.125") + out * 10) / M


# a1: gpt-5 over an OpenAI-compatible API: prompt 10,000 (6,000 cached), 500 completion tokens of which 200
# reasoning (total = prompt + completion); a2: gemini-2.5-flash over Gemini: 300 candidates + 100 thoughts
EXPECTED = gpt5(uncached=4000, cached=6000, out=500) + (2000 * Decimal("0.30") + 400 * Decimal("2.50")) / M


def chat(root: Path, session: str = "s-1") -> Path:
    return write(
        root / "projects" / "-home-dev-api" / "chats" / f"{session}.jsonl",
        [
            qwen_user("u1", session, CWD, "2026-11-20T09:00:00.000Z"),
            qwen_assistant(
                "a1",
                session,
                CWD,
                "2026-11-20T09:00:04.000Z",
                model="gpt-5",
                prompt=10000,
                candidates=500,
                cached=6000,
                thoughts=200,
                parent="u1",
            ),
            qwen_assistant(
                "a2",
                session,
                CWD,
                "2026-11-20T09:01:00.000Z",
                model="gemini-2.5-flash",
                prompt=2000,
                candidates=300,
                thoughts=100,
                total=2400,
                parent="a1",
            ),
        ],
    )


def run(warden: Warden, *roots: Path) -> ImportStats:
    return run_passes(warden, agent_named("qwen-code").plan(list(roots)))


def test_usage_and_exact_costs(tmp_path: Path, ledger: Ledger) -> None:
    chat(tmp_path)
    stats = run(Warden(ledger=ledger), tmp_path)
    assert (stats.files, stats.lines, stats.records, stats.malformed) == (1, 3, 2, 0)
    events = {e.id: e for e in ledger.events()}
    first, second = events["qwen-code:a1"], events["qwen-code:a2"]
    assert (first.provider, first.model) == ("openai", "gpt-5")
    assert (first.usage.input_tokens, first.usage.cache_read_tokens) == (4000, 6000)
    assert (first.usage.output_tokens, first.usage.reasoning_tokens) == (500, 200)  # thoughts inside
    assert (second.usage.output_tokens, second.usage.reasoning_tokens) == (400, 100)  # thoughts beside
    assert (first.attribution.project, first.attribution.agent, first.attribution.session) == (
        "api",
        "qwen-code",
        "s-1",
    )
    assert first.attribution.tags == {"cwd": CWD, "git_branch": "main"}
    (total,) = ledger.totals()
    assert total.cost == EXPECTED


def test_a_forked_session_counts_its_copied_records_once(tmp_path: Path) -> None:
    chat(tmp_path)
    write(
        tmp_path / "projects" / "-home-dev-api" / "chats" / "s-2.jsonl",
        [
            qwen_assistant(
                "a1",
                "s-2",
                CWD,
                "2026-11-20T09:00:04.000Z",
                model="gpt-5",
                prompt=10000,
                candidates=500,
                cached=6000,
                thoughts=200,
                forked_from="s-1",
            ),
            qwen_assistant(
                "a3", "s-2", CWD, "2026-11-20T09:05:00.000Z", model="gpt-5", prompt=1000, candidates=10
            ),
        ],
    )
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path)
    assert (stats.inserted, stats.unchanged) == (3, 1)
    (total,) = ledger.totals()
    assert total.cost == EXPECTED + gpt5(uncached=1000, cached=0, out=10)


def test_qwen_models_are_recorded_unpriced_not_free(tmp_path: Path) -> None:
    write(
        tmp_path / "projects" / "p" / "chats" / "s.jsonl",
        [qwen_assistant("q1", "s", CWD, "2026-11-20T09:00:00Z", prompt=1000, candidates=100)],
    )
    ledger = MemoryLedger()
    run(Warden(ledger=ledger), tmp_path)
    (event,) = ledger.events()
    assert (event.provider, event.model) == ("alibaba", "qwen3-coder-plus")
    assert event.cost is not None and event.cost.source == CostSource.UNPRICED and event.cost.total > 0


def test_reimport_adds_nothing_and_new_lines_are_read(tmp_path: Path, ledger: Ledger) -> None:
    path = chat(tmp_path)
    warden = Warden(ledger=ledger)
    run(warden, tmp_path)
    assert (run(warden, tmp_path).lines, run(warden, tmp_path).inserted) == (0, 0)
    append(
        path,
        [qwen_assistant("a4", "s-1", CWD, "2026-11-20T09:09:00Z", model="gpt-5", prompt=100, candidates=1)],
    )
    more = run(warden, tmp_path)
    assert (more.lines, more.inserted) == (1, 1)
    (total,) = ledger.totals()
    assert total.events == 3


def test_malformed_lines_are_counted(tmp_path: Path) -> None:
    path = chat(tmp_path)
    append(
        path,
        [
            "not json",
            '{"type":"assistant","usageMetadata":{"promptTokenCount":1.5},"uuid":"x","model":"gpt-5",'
            '"timestamp":"2026-11-20T09:00:00Z"}',
            '{"type":"assistant","usageMetadata":{"promptTokenCount":10},"model":"gpt-5","timestamp":"2026-11-20T09:00:00Z"}',
            '{"type":"assistant","usageMetadata":"lots","uuid":"y"}',
        ],
    )
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path)
    assert stats.malformed == 4
    assert [m.line for m in stats.malformed_at] == [4, 5, 6, 7]
    assert "uuid" in stats.malformed_at[2].reason
    assert ledger.totals()[0].events == 2


def test_default_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QWEN_HOME", raising=False)
    monkeypatch.delenv("QWEN_RUNTIME_DIR", raising=False)
    assert default_paths() == []
    (Path.home() / ".qwen" / "projects").mkdir(parents=True)
    assert default_paths() == [Path.home() / ".qwen" / "projects"]
    monkeypatch.setenv("QWEN_RUNTIME_DIR", str(tmp_path / "rt"))
    (tmp_path / "rt" / "projects").mkdir(parents=True)
    assert default_paths() == [tmp_path / "rt" / "projects", Path.home() / ".qwen" / "projects"]
