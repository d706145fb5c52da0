"""`costwarden demo`: the simulated fleet runs through the real Warden against the fake provider, trips
every budget on purpose, and is deterministic for a seed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_helpers import run

from costwarden.config import user_data_dir
from costwarden.storage.sql.ledger import open_ledger


def _section(out: str, start: str, end: str) -> str:
    return out[out.index(start) : out.index(end)]


def test_demo_shows_every_budget_action(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, ["--no-color", "demo", "--seed", "7"])
    assert code == 0, err
    assert out.startswith("SIMULATED: ")
    assert "fake provider on 127.0.0.1" in out
    for line in (
        "FALLBACK    backend-api/feature-dev",
        "BLOCKED     data-pipeline/summarizer",
        "TERMINATED  frontend/bugfix-dev",
        "FAILED      frontend/clarifier",
    ):
        assert line in out
    summary = re.search(
        r"(\d+) calls: (\d+) recorded, 1 failed, (\d+) fell back to the local model, (\d+) blocked, "
        r"1 run terminated; (\d+) alerts",
        out,
    )
    assert summary is not None and int(summary.group(3)) > 0 and int(summary.group(4)) > 0
    sections = ("Cost Report - Today", "BY PROJECT", "BY MODEL", "TOP SESSIONS", "BUDGET STATUS", "ALERTS")
    for section in (*sections, "INSIGHTS"):
        assert section in out
    alerts = _section(out, "\nALERTS", "\nINSIGHTS")
    for kind in ("warn ", "block ", "terminate_run ", "fallback ", "threshold "):
        assert kind in alerts
    insights = out[out.index("\nINSIGHTS") :]
    assert "claude-opus-4-1 (premium tier)" in insights and "no cache reads" in insights
    assert "error rate" in insights
    assert "llama3.1 (ollama)" in out and "long context" in out and "gpt-5.4" in out

    ledger = open_ledger(f"sqlite:///{user_data_dir() / 'demo.db'}")
    try:
        total = ledger.totals()[0]
    finally:
        ledger.close()
    assert total.events == int(summary.group(2)) and total.error_events == 1
    assert f"${total.cost:,.2f}" in _section(out, "SUMMARY", "BY PROJECT")


def test_same_seed_same_numbers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    def numbers(seed: int, name: str) -> str:
        db = f"sqlite:///{tmp_path / name}.db"
        code, out, _ = run(capsys, ["demo", "--seed", str(seed), "--quiet", "--db", db])
        assert code == 0
        assert "ok          " not in out  # --quiet leaves the per-call log out
        return _section(out, "Cost Report", "BUDGET STATUS") + _section(out, "\nINSIGHTS", "Explore")

    first = numbers(3, "a")
    assert numbers(3, "b") == first
    assert numbers(4, "c") != first
