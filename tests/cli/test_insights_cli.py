"""`costwarden insights`: premium models on small outputs, high error rates, big inputs without cache
reads; each with evidence and a monthly saving from the real token mix; dismissals are remembered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from report_helpers import run, run_json

from costwarden import Warden
from costwarden.core.usage import Usage, UsageEvent
from costwarden.pricing.book import PriceBook

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T = NOW - timedelta(minutes=1)


def _events() -> list[UsageEvent]:
    out = []
    for i in range(40):  # reviewer: opus, ~600 output tokens per call
        out.append(
            UsageEvent.create(
                provider="anthropic",
                model="claude-opus-4-1",
                id=f"rev-{i}",
                agent="reviewer",
                occurred_at=T - timedelta(hours=6 * i),
                input_tokens=3_000 + i,
                output_tokens=600,
                session=f"rs-{i // 10}",
            )
        )
    for i in range(30):  # summarizer: 40k uncached input every call, never a cache read
        out.append(
            UsageEvent.create(
                provider="anthropic",
                model="claude-sonnet-4-5",
                id=f"sum-{i}",
                agent="summarizer",
                occurred_at=T - timedelta(hours=8 * i),
                input_tokens=40_000,
                output_tokens=2_000,
                session=f"ss-{i // 5}",
            )
        )
    for i in range(20):  # flaky: 6 of 20 calls fail after using input
        out.append(
            UsageEvent.create(
                provider="openai",
                model="gpt-5",
                id=f"fl-{i}",
                agent="flaky",
                occurred_at=T - timedelta(hours=9 * i),
                input_tokens=2_000,
                output_tokens=1_500 if i % 10 >= 3 else 0,
                status="error" if i % 10 < 3 else "ok",
            )
        )
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    with Warden(database=url) as warden:
        warden.record_many(_events())
    yield url


def test_insights_with_evidence_and_savings(capsys: pytest.CaptureFixture[str], db: str) -> None:
    data = run_json(capsys, ["--db", db, "insights", "--json"])
    assert data["schema"] == "costwarden.insights/1"
    by_kind = {i["kind"]: i for i in data["insights"]}
    assert set(by_kind) == {"premium-small-output", "no-cache-reads", "high-error-rate"}

    premium = by_kind["premium-small-output"]
    assert premium["subject"] == {"agent": "reviewer", "provider": "anthropic", "model": "claude-opus-4-1"}
    assert premium["evidence"]["calls"] == 40 and premium["evidence"]["average_output_tokens"] == 600
    assert premium["evidence"]["alternative"].startswith("anthropic/claude-sonnet")
    book = PriceBook()
    events = [e for e in _events() if e.attribution.agent == "reviewer"]
    current = sum(book.price(e).total for e in events)
    average = Usage(input_tokens=round(sum(e.usage.input_tokens for e in events) / 40), output_tokens=600)
    alt_model = premium["evidence"]["alternative"].split("/")[1]
    alternative = book.price_usage("anthropic", alt_model, average, NOW).total * 40
    first = min(e.occurred_at for e in _events())  # savings are per day of activity, times 30
    days = (Decimal((NOW - first).total_seconds()) / 86400).quantize(Decimal("0.01"))
    expected = ((current - alternative) * 30 / days).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    assert Decimal(premium["estimated_monthly_saving"]) == expected

    errors = by_kind["high-error-rate"]
    assert errors["evidence"]["failed_calls"] == 6 and errors["evidence"]["error_rate_percent"] == "30.0"
    failed_cost = sum(book.price(e).total for e in _events() if e.status == "error")
    assert errors["evidence"]["cost_of_failed_calls"].rstrip("0") == f"{failed_cost.normalize():f}".rstrip(
        "0"
    )
    cache = by_kind["no-cache-reads"]
    assert cache["evidence"]["average_input_tokens"] == 40_000 and cache["evidence"]["sessions"] == 6
    assert Decimal(cache["estimated_monthly_saving"]) > 0
    savings = [Decimal(i["estimated_monthly_saving"]) for i in data["insights"]]
    assert savings == sorted(savings, reverse=True)


def test_dismissals_are_remembered(capsys: pytest.CaptureFixture[str], db: str) -> None:
    first = run_json(capsys, ["--db", db, "insights", "--json"])["insights"]
    target = first[0]["id"]
    code, _, err = run(capsys, ["--db", db, "insights", "--dismiss", target])
    assert code == 0 and f"Dismissed {target}" in err
    later = run_json(capsys, ["--db", db, "insights", "--json"])
    assert target not in [i["id"] for i in later["insights"]] and later["dismissed"] == 1
    shown = run_json(capsys, ["--db", db, "insights", "--all", "--json"])["insights"]
    assert [i["dismissed"] for i in shown if i["id"] == target] == [True]
    code, out, _ = run(capsys, ["--db", db, "insights"])
    assert code == 0 and "Estimated savings:" in out and "Evidence:" in out and target not in out
    run(capsys, ["--db", db, "insights", "--restore", target])
    assert target in [i["id"] for i in run_json(capsys, ["--db", db, "insights", "--json"])["insights"]]


def test_no_insights_on_a_quiet_ledger(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    quiet = f"sqlite:///{tmp_path / 'q.db'}"
    assert run(capsys, ["--db", quiet, "db", "upgrade"])[0] == 0
    code, out, _ = run(capsys, ["--db", quiet, "insights"])
    assert code == 0 and "No suggestions" in out


def test_insight_periods(capsys: pytest.CaptureFixture[str], db: str) -> None:
    week = run_json(capsys, ["--db", db, "insights", "--this-week", "--json"])
    assert week["period"]["label"].startswith("This week")
    month = run_json(capsys, ["--db", db, "insights", "--this-month", "--json"])
    assert {i["kind"] for i in month["insights"]} >= {"premium-small-output"}
    ranged = run_json(
        capsys, ["--db", db, "insights", "--from", "2026-11-20", "--to", "2026-11-23", "--json"]
    )
    evidence = next(i for i in ranged["insights"] if i["kind"] == "premium-small-output")["evidence"]
    assert evidence["calls"] == sum(
        1
        for e in _events()
        if e.attribution.agent == "reviewer" and e.occurred_at >= datetime(2026, 11, 20, tzinfo=UTC)
    )
    empty = run_json(capsys, ["--db", db, "insights", "--from", "2020-01-01", "--to", "2020-01-31", "--json"])
    assert empty["insights"] == []


@pytest.mark.parametrize("flag", ["--dismiss", "--restore"])
def test_unknown_insight_ids_are_usage_errors(capsys: pytest.CaptureFixture[str], db: str, flag: str) -> None:
    code, _, err = run(capsys, ["--db", db, "insights", flag, "bogus"])
    assert code == 2, err
    assert "bogus" in err and "Dismissed" not in err
    assert run_json(capsys, ["--db", db, "insights", "--json"])["dismissed"] == 0
