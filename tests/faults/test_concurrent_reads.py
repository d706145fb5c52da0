"""Reports beside concurrent writers, on PostgreSQL and SQLite: one report is one snapshot (its total
equals its own by-project sum), `maintain --check` finds no false mismatch and `maintain --rebuild` never
fails, while threads keep appending new events and newer snapshots of them."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.core.usage import UsageEvent
from costwarden.storage.sql.ledger import open_ledger
from reports.history import priced

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
WRITERS = 3
REPORTS = 24
CHECKS = 8
REBUILDS = 6


class Writers:
    """Threads appending events of November 2026 (new ids and newer snapshots, one by one and in
    batches) until stopped; each thread has its own ledger (its own connections)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.appended = 0
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(WRITERS)]

    def _event(self, rnd: random.Random, n: int, i: int) -> UsageEvent:
        tokens = rnd.randrange(100, 5000)
        return priced(
            UsageEvent.create(
                provider="openai",
                model=rnd.choice(["gpt-5", "gpt-5-mini"]),
                id=f"w{n}-{i // 2}",  # every second event is a newer snapshot of the one before
                project=rnd.choice(["api", "web", "batch", None]),
                session=f"s{rnd.randrange(20)}",
                occurred_at=NOW
                - timedelta(minutes=rnd.randrange(0, 60 * 24 * 20))
                + timedelta(seconds=i % 2),
                input_tokens=tokens + i % 2 * 10,
                output_tokens=rnd.randrange(10, 500),
            ),
            tokens * 10_000 + i,
        )

    def _run(self, n: int) -> None:
        rnd = random.Random(n)
        i = 0
        try:
            with open_ledger(self.url) as ledger:
                while not self.stop.is_set():
                    if i % 3:
                        ledger.append(self._event(rnd, n, i))
                        i += 1
                    else:
                        ledger.append_many(self._event(rnd, n, i + k) for k in range(6))
                        i += 6
                    self.appended = max(self.appended, i)
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(60)


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    db = str(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))
    with open_ledger(db):
        pass
    yield db


def _cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, Any, str]:
    code = main(["--db", url, *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("{") else out), err


def test_a_report_is_one_snapshot(capsys: pytest.CaptureFixture[str], url: str) -> None:
    args = ("report", "--from", "2026-11-01", "--to", "2026-11-30", "--json")
    mismatched = []
    with Writers(url) as writers:
        for n in range(REPORTS):
            code, data, err = _cli(capsys, url, *args)
            assert code == 0, err
            whole = data["totals"]
            for name in ("events", "input_tokens", "output_tokens"):
                for part in ("by_project", "by_model"):
                    summed = sum(row[name] for row in data[part])
                    if summed != whole[name]:
                        mismatched.append((n, part, name, whole[name], summed))
    assert not writers.errors, writers.errors
    assert writers.appended > 50
    assert mismatched == [], f"{len({m[0] for m in mismatched})} of {REPORTS} reports: {mismatched[:5]}"


def test_check_and_rebuild_beside_writers(capsys: pytest.CaptureFixture[str], url: str) -> None:
    false_mismatches = 0
    failures: list[str] = []
    with Writers(url) as writers:
        for _ in range(CHECKS):
            code, data, err = _cli(capsys, url, "maintain", "--check", "--json")
            if code != 0:
                false_mismatches += 1
                failures.append(err or json.dumps(data)[:300])
        for _ in range(REBUILDS):
            code, data, err = _cli(capsys, url, "maintain", "--rebuild", "--check", "--json")
            if code != 0:
                failures.append(err or json.dumps(data)[:300])
    assert not writers.errors, writers.errors
    assert (false_mismatches, failures) == (0, [])
    code, data, err = _cli(capsys, url, "maintain", "--check", "--json")
    assert code == 0 and data["mismatched_hours"] == [], err
