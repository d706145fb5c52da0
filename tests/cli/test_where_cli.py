"""`--where` repeated: OR between values of one field, AND across fields, in every command that takes it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costwarden import UsageEvent, Warden
from costwarden.cli import main
from costwarden.ledger import EventQuery, MemoryLedger

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EVENTS = [  # (project, agent, cost)
    ("A", "x", "1"),
    ("A", "y", "2"),
    ("B", "x", "4"),
    ("C", "x", "8"),
]


def _events() -> list[UsageEvent]:
    return [
        UsageEvent.create(
            provider="openai",
            model="gpt-4o",
            id=f"e{i}",
            occurred_at=NOW.replace(hour=i + 1),
            project=project,
            agent=agent,
            provider_cost=Decimal(cost),
        )
        for i, (project, agent, cost) in enumerate(EVENTS)
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    with Warden(database=url) as warden:
        warden.record_many(_events())
    yield url


WHERE = ["--where", "project=A", "--where", "project=B", "--where", "agent=x"]
"""(project A or B) and agent x: events e0 ($1) and e2 ($4)."""


def run_ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_report(capsys: pytest.CaptureFixture[str], db: str) -> None:
    data = json.loads(run_ok(capsys, "--db", db, "report", "--this-month", "--format", "json", *WHERE))
    assert (data["totals"]["events"], data["totals"]["cost"]) == (2, "5.00")


def test_one_value_is_unchanged(capsys: pytest.CaptureFixture[str], db: str) -> None:
    data = json.loads(
        run_ok(capsys, "--db", db, "report", "--this-month", "--format", "json", "--where", "project=A")
    )
    assert (data["totals"]["events"], data["totals"]["cost"]) == (2, "3.00")


def test_top(capsys: pytest.CaptureFixture[str], db: str) -> None:
    data = json.loads(run_ok(capsys, "--db", db, "top", "--this-month", "--projects", "--json", *WHERE))
    assert sum(Decimal(r["cost"]) for r in data["rows"]) == 5 and len(data["rows"]) == 2


def test_trends(capsys: pytest.CaptureFixture[str], db: str) -> None:
    data = json.loads(run_ok(capsys, "--db", db, "trends", "--this-month", "--json", *WHERE))
    assert Decimal(data["total_cost"]) == 5


def test_export(capsys: pytest.CaptureFixture[str], db: str) -> None:
    out = run_ok(capsys, "--db", db, "export", "--this-month", "--format", "csv", *WHERE)
    ids = sorted(row["id"] for row in csv.DictReader(io.StringIO(out)))
    assert ids == ["e0", "e2"]


def test_the_python_query_takes_several_values() -> None:
    ledger = MemoryLedger()
    with Warden(ledger=ledger) as warden:
        warden.record_many(_events())
    query = EventQuery(where={"project": ("A", "B"), "agent": "x"})
    assert sorted(e.id for e in ledger.events(query)) == ["e0", "e2"]
    (total,) = ledger.totals(query)
    assert total.cost == 5


@pytest.mark.parametrize(
    ("where", "events"),
    [
        (["provider=claude"], 2),  # an alias of anthropic
        (["provider=Anthropic"], 2),
        (["model=claude-sonnet-4-5-20250929"], 2),  # a dated id finds its model
        (["provider=claude", "model=claude-sonnet-4-5-20250929"], 2),
        (["given_model=claude-sonnet-4-5-20250929"], 1),  # the raw id the caller gave
        (["provider=claude", "provider=openai"], 6),
    ],
)
def test_provider_and_model_filters_take_any_spelling(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, where: list[str], events: int
) -> None:
    with Warden(database=sqlite_url) as warden:
        warden.record_many(_events())
        warden.record(
            provider="claude", model="claude-sonnet-4-5-20250929", input_tokens=1000, occurred_at=NOW
        )
        warden.record(provider="anthropic", model="claude-sonnet-4-5", input_tokens=1000, occurred_at=NOW)
    args = [arg for item in where for arg in ("--where", item)]
    for command in (["report", "--format", "json"], ["export", "--format", "json"]):
        out = run_ok(capsys, "--db", sqlite_url, *command, "--from", "2026-11-01", *args)
        data = json.loads(out)
        found = data["totals"]["events"] if command[0] == "report" else len(data)
        assert found == events, (command, where)
