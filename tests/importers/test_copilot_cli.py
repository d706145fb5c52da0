"""GitHub Copilot CLI's OpenTelemetry export: chat spans are the calls (log records repeating them are not
counted again), input includes the cache, ids are trace and span, malformed lines counted, incremental."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.importers.agents import agent_named, run_passes
from costwarden.importers.copilot_cli import default_paths
from costwarden.importers.stats import ImportStats
from costwarden.ledger import Ledger, MemoryLedger
from costwarden.testing.agent_logs import append, copilot_chat_span, copilot_log_record, write
from costwarden.warden import Warden

M = Decimal(1_000_000)
END = (1_763_632_800, 500_000_000)  # 2025-11-20T10:00:00.5Z


def sonnet(*, inp: int, read: int, write: int, out: int) -> Decimal:
    return (inp * 3 + read * Decimal("0.30") + write * Decimal("3.75") + out * 15) / M


def gpt5(*, inp: int, read: int, out: int) -> Decimal:
    return (inp * Decimal("1.25") + read * Decimal("0.125") + out * 10) / M


# s1: claude-sonnet-4.5, 30,000 input of which 25,000 cache reads and 2,000 cache writes, 700 output
# s2: gpt-5, 8,000 input of which 4,000 cached, 900 output of which 300 reasoning
EXPECTED = sonnet(inp=3000, read=25000, write=2000, out=700) + gpt5(inp=4000, read=4000, out=900)


def export(root: Path) -> Path:
    return write(
        root / "otel" / "copilot-otel-20251120.jsonl",
        [
            copilot_chat_span(
                "t1",
                "s1",
                end=END,
                input_tokens=30000,
                output_tokens=700,
                cache_read=25000,
                cache_creation=2000,
            ),
            copilot_log_record("t1", "s1", input_tokens=30000, output_tokens=700),
            copilot_chat_span(
                "t1",
                "s2",
                end=(END[0] + 60, 0),
                model="gpt-5",
                input_tokens=8000,
                output_tokens=900,
                cache_read=4000,
                reasoning=300,
                response_id="resp_02",
            ),
        ],
    )


def run(warden: Warden, *roots: Path) -> ImportStats:
    return run_passes(warden, agent_named("copilot-cli").plan(list(roots)))


def test_chat_spans_and_exact_costs(tmp_path: Path, ledger: Ledger) -> None:
    export(tmp_path)
    stats = run(Warden(ledger=ledger), tmp_path)
    assert (stats.lines, stats.records, stats.inserted, stats.malformed) == (3, 2, 2, 0)
    events = {e.id: e for e in ledger.events()}
    assert set(events) == {"copilot-cli:t1:s1", "copilot-cli:t1:s2"}
    first, second = events["copilot-cli:t1:s1"], events["copilot-cli:t1:s2"]
    assert (first.provider, first.model) == ("anthropic", "claude-sonnet-4-5")
    assert (first.usage.input_tokens, first.usage.cache_read_tokens, first.usage.cache_write_tokens) == (
        3000,
        25000,
        2000,
    )
    assert (second.usage.output_tokens, second.usage.reasoning_tokens) == (900, 300)
    assert (first.attribution.agent, first.attribution.session) == ("copilot-cli", "c0ffee00-sess")
    assert second.provider_response_id == "resp_02"
    assert first.occurred_at.isoformat() == "2025-11-20T10:00:00.500000+00:00"
    (total,) = ledger.totals()
    assert total.cost == EXPECTED


def test_reimport_adds_nothing_and_new_spans_are_read(tmp_path: Path, ledger: Ledger) -> None:
    path = export(tmp_path)
    warden = Warden(ledger=ledger)
    run(warden, tmp_path)
    assert run(warden, tmp_path).lines == 0
    append(
        path,
        [
            copilot_chat_span(
                "t2", "s3", end=(END[0] + 120, 0), model="gpt-5", input_tokens=1000, output_tokens=10
            )
        ],
    )
    more = run(warden, tmp_path)
    assert (more.lines, more.inserted) == (1, 1)
    # the same export copied elsewhere counts once
    write(tmp_path / "copy" / "otel.jsonl", path.read_text().splitlines())
    copied = run(warden, tmp_path / "copy")
    assert (copied.inserted, copied.unchanged) == (0, 3)
    (total,) = ledger.totals()
    assert total.cost == EXPECTED + gpt5(inp=1000, read=0, out=10)


def test_malformed_lines_are_counted(tmp_path: Path) -> None:
    path = export(tmp_path)
    span = copilot_chat_span("t9", "s9", end=END, input_tokens=10, output_tokens=1)
    append(
        path,
        [
            span[:60],
            span.replace('"gen_ai.usage.input_tokens":10', '"gen_ai.usage.input_tokens":-10'),
            span.replace('"endTime":[1763632800,500000000]', '"endTime":"soon"'),
            span.replace(
                '"gen_ai.request.model":"claude-sonnet-4.5","gen_ai.response.model":"claude-sonnet-4.5",', ""
            ),
        ],
    )
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path)
    assert stats.malformed == 4
    assert [m.line for m in stats.malformed_at] == [4, 5, 6, 7]
    assert "model" in stats.malformed_at[3].reason
    assert ledger.totals()[0].events == 2


def test_default_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPILOT_OTEL_FILE_EXPORTER_PATH", raising=False)
    assert default_paths() == []
    otel = Path.home() / ".copilot" / "otel"
    otel.mkdir(parents=True)
    exporter = write(tmp_path / "elsewhere.jsonl", [])
    monkeypatch.setenv("COPILOT_OTEL_FILE_EXPORTER_PATH", str(exporter))
    assert default_paths() == [otel, exporter]
