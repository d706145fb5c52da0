"""Amp threads: one event per assistant message with usage, a rewritten thread adds only its new messages,
the older usage ledger read with the messages' cache split, malformed threads and messages counted."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.importers.agents import agent_named, run_passes
from costwarden.importers.amp import default_paths
from costwarden.importers.stats import ImportStats
from costwarden.ledger import Ledger, MemoryLedger
from costwarden.testing.agent_logs import amp_message, amp_thread, pretty
from costwarden.warden import Warden

M = Decimal(1_000_000)
THREAD = "T-5e1c0d2a-7b3f-4e1a-9c2d-1f0e2d3c4b5a"


def sonnet(*, inp: int, read: int, write: int, out: int) -> Decimal:
    return (inp * 3 + read * Decimal("0.30") + write * Decimal("3.75") + out * 15) / M


M1 = amp_message(1, "2026-11-20T10:00:05.000Z", inp=12, out=400, write=3000, read=18000, credits=2.5)
M2 = amp_message(3, "2026-11-20T10:01:05.000Z", inp=5, out=250, read=21000)
EXPECTED = sonnet(inp=12, read=18000, write=3000, out=400) + sonnet(inp=5, read=21000, write=0, out=250)


def threads(root: Path) -> Path:
    return root / "threads"


def save(root: Path, text: str, name: str = THREAD) -> Path:
    path = threads(root) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(warden: Warden, *roots: Path) -> ImportStats:
    return run_passes(warden, agent_named("amp").plan(list(roots)))


def test_messages_and_exact_costs(tmp_path: Path, ledger: Ledger) -> None:
    save(tmp_path, amp_thread(THREAD, [M1, M2]))
    stats = run(Warden(ledger=ledger), tmp_path)
    assert (stats.files, stats.lines, stats.records, stats.malformed) == (1, 3, 2, 0)
    events = {e.id: e for e in ledger.events()}
    assert set(events) == {f"amp:{THREAD}:1", f"amp:{THREAD}:3"}
    first = events[f"amp:{THREAD}:1"]
    assert (first.provider, first.model) == ("anthropic", "claude-sonnet-4-5")
    assert (first.usage.cache_write_tokens, first.usage.cache_read_tokens) == (3000, 18000)
    assert (first.attribution.project, first.attribution.agent, first.attribution.session) == (
        "shop",
        "amp",
        THREAD,
    )
    assert first.attribution.tags == {"cwd": "/home/dev/shop", "amp_credits": "2.5"}
    (total,) = ledger.totals()
    assert total.cost == EXPECTED


def test_a_rewritten_thread_adds_only_its_new_messages(tmp_path: Path, ledger: Ledger) -> None:
    path = save(tmp_path, amp_thread(THREAD, [M1]))
    warden = Warden(ledger=ledger)
    run(warden, tmp_path)
    assert run(warden, tmp_path).files_read == 0  # unchanged: not read again
    path.write_text(amp_thread(THREAD, [M1, M2]), encoding="utf-8")
    stats = run(warden, tmp_path)
    assert (stats.files_read, stats.inserted, stats.unchanged) == (1, 1, 1)
    (total,) = ledger.totals()
    assert total.events == 2 and total.cost == EXPECTED


def test_the_older_usage_ledger(tmp_path: Path) -> None:
    thread = json.loads(amp_thread(THREAD, [M1, M2]))
    thread["usageLedger"] = {
        "events": [
            {
                "id": "ev-1",
                "timestamp": "2026-11-20T10:00:05.000Z",
                "model": "claude-sonnet-4-5-20250929",
                "credits": 2.5,
                "tokens": {"input": 12, "output": 400},
                "operationType": "inference",
                "fromMessageId": 0,
                "toMessageId": 1,
            },
            {
                "id": "ev-2",
                "timestamp": "2026-11-20T10:01:05.000Z",
                "model": "claude-sonnet-4-5-20250929",
                "tokens": {"input": 5, "output": 250},
                "toMessageId": 3,
            },
        ]
    }
    save(tmp_path, pretty(thread))
    ledger = MemoryLedger()
    run(Warden(ledger=ledger), tmp_path)
    (total,) = ledger.totals()
    assert total.events == 2 and total.cost == EXPECTED


def test_malformed_threads_and_messages_are_counted(tmp_path: Path) -> None:
    bad = amp_message(5, "2026-11-20T10:02:00Z", inp=-1, out=1)
    nameless = amp_message(7, "2026-11-20T10:03:00Z", inp=1, out=1) | {"messageId": None}
    save(tmp_path, amp_thread(THREAD, [M1, bad, nameless]))
    save(tmp_path, "{ truncated", name="T-broken")
    save(tmp_path, '{"messages": []}', name="T-noid")
    ledger = MemoryLedger()
    stats = run(Warden(ledger=ledger), tmp_path)
    assert stats.malformed == 4
    reasons = sorted(str(m) for m in stats.malformed_at)
    assert any("messages[2]" in r and "inputTokens" in r for r in reasons)
    assert any("messages[3]" in r and "messageId" in r for r in reasons)
    assert any("T-broken.json" in r for r in reasons) and any("T-noid.json" in r for r in reasons)
    assert ledger.totals()[0].events == 1


def test_default_location(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_paths() == []
    (Path.home() / ".local" / "share" / "amp" / "threads").mkdir(parents=True)
    assert default_paths() == [Path.home() / ".local" / "share" / "amp" / "threads"]
