"""Codex logs: model from turn_context, per-turn usage from last_token_usage or differenced running
totals, repeated totals skipped, rate limits kept as the latest quota."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from costwarden.importers import CodexParser, find_files, import_files
from costwarden.ledger import Ledger, MemoryLedger
from costwarden.testing.agent_logs import (
    append,
    codex_meta,
    codex_token_count,
    codex_turn_context,
    codex_usage,
    write,
)
from costwarden.warden import Warden

# gpt-5: $1.25 input, $0.125 cached input, $10 output per MTok
M = Decimal(1_000_000)


def gpt5(inp: int, cached: int, out: int) -> Decimal:
    return ((inp - cached) * Decimal("1.25") + cached * Decimal("0.125") + out * 10) / M


TURN1 = codex_usage(5000, 3000, 400, 150)
TURN2 = codex_usage(9000, 8000, 700, 300)
TOTAL1 = TURN1
TOTAL2 = {k: TURN1[k] + TURN2[k] for k in TURN1}
EXPECTED = gpt5(5000, 3000, 400) + gpt5(9000, 8000, 700)


def rollout(root: Path, name: str, *, with_last: bool) -> Path:
    at = "2026-11-20T09:00:0{}.000Z".format
    return write(
        root / "sessions" / "2026" / "11" / "20" / f"rollout-2026-11-20T09-00-00-{name}.jsonl",
        [
            codex_meta(name, "/home/dev/api", at(0)),
            codex_turn_context("gpt-5", "/home/dev/api", at(1)),
            codex_token_count(at(2), last=TURN1 if with_last else None, total=TOTAL1),
            codex_token_count(at(3), last=TURN1 if with_last else None, total=TOTAL1),  # sent again
            codex_token_count(at(4), last=TURN2 if with_last else None, total=TOTAL2, used_percent=40.0),
        ],
    )


def test_last_token_usage(tmp_path: Path, ledger: Ledger) -> None:
    rollout(tmp_path, "aaaa", with_last=True)
    stats = import_files(Warden(ledger=ledger), CodexParser(), find_files([tmp_path]))
    assert (stats.lines, stats.events, stats.malformed) == (5, 2, 0)
    (total,) = ledger.totals()
    assert total.events == 2
    assert (total.input_tokens, total.cache_read_tokens) == (3000, 11000)
    assert (total.output_tokens, total.reasoning_tokens) == (1100, 450)
    assert total.cost == EXPECTED
    event = next(iter(ledger.events()))
    assert (event.provider, event.model, event.attribution.agent) == ("openai", "gpt-5", "codex")
    assert (event.attribution.project, event.attribution.session) == ("api", "aaaa")


def test_running_totals_only(tmp_path: Path) -> None:
    path = rollout(tmp_path, "bbbb", with_last=False)
    ledger = MemoryLedger()
    warden = Warden(ledger=ledger)
    import_files(warden, CodexParser(), find_files([tmp_path]))
    (total,) = ledger.totals()
    assert total.events == 2 and total.cost == EXPECTED
    # the running total is remembered between imports: a new turn is differenced against it
    turn3 = codex_usage(1000, 0, 100, 0)
    append(
        path,
        [
            codex_token_count(
                "2026-11-20T09:10:00.000Z", last=None, total={k: TOTAL2[k] + turn3[k] for k in turn3}
            )
        ],
    )
    stats = import_files(warden, CodexParser(), find_files([tmp_path]))
    assert (stats.lines, stats.events) == (1, 1)
    (total,) = ledger.totals()
    assert total.cost == EXPECTED + gpt5(1000, 0, 100)
    # and nothing is added by importing again
    assert import_files(warden, CodexParser(), find_files([tmp_path])).events == 0
    assert ledger.totals() == [total]


def test_rate_limits_become_the_codex_quota(tmp_path: Path) -> None:
    rollout(tmp_path, "cccc", with_last=True)
    warden = Warden(ledger=MemoryLedger())
    import_files(warden, CodexParser(), find_files([tmp_path]))
    quota = warden.quotas.latest("codex")
    assert quota is not None
    assert quota.windows["primary-300m"].utilization == 0.40
    assert quota.windows["secondary-10080m"].utilization == 0.03


def test_malformed_and_modelless_lines(tmp_path: Path) -> None:
    write(
        tmp_path / "rollout-x.jsonl",
        [
            codex_token_count("2026-11-20T09:00:00Z", last=codex_usage(100, 0, 10, 0), total=None),
            '{"timestamp":"2026-11-20T09:00:01Z","type":"event_msg","payload":{"type":"token_count","info":{}}}',
            "{broken",
            '["a list"]',
        ],
    )
    ledger = MemoryLedger()
    stats = import_files(Warden(ledger=ledger), CodexParser(), find_files([tmp_path]))
    assert stats.malformed == 3
    (event,) = ledger.events()
    assert event.model == "gpt-5" and event.attribution.tags == {"model": "assumed"}
    assert event.attribution.session == "x"
