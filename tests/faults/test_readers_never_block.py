"""SQLite readers never take the write lock: a long writer holding `BEGIN IMMEDIATE` beside `report`,
`top` and `budget status`, which answer while the writer still holds it."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.core.usage import UsageEvent
from costwarden.storage.sql.ledger import open_ledger
from reports.history import priced

HOLD_SECONDS = 20.0  # far longer than a read needs, far shorter than the 30 s busy timeout


class LongWriter:
    """A thread holding the SQLite write lock (`BEGIN IMMEDIATE`) until released or `HOLD_SECONDS` pass."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holding = threading.Event()
        self.released = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE events SET project = project WHERE 0")
            self.holding.set()
            self._release.wait(HOLD_SECONDS)
            self.released.set()
            conn.execute("COMMIT")
        finally:
            conn.close()

    def __enter__(self) -> LongWriter:
        self._thread.start()
        assert self.holding.wait(10), "the writer did not get the lock"
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._thread.join(30)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    path = tmp_path / "ledger.db"
    now = datetime.now(UTC)
    monkeypatch.setenv("COSTWARDEN_NOW", now.isoformat())  # one moment for the whole test
    with open_ledger(str(path)) as ledger:
        ledger.append_many(
            priced(
                UsageEvent.create(
                    provider="openai",
                    model="gpt-5",
                    id=f"e{i}",
                    project=f"p{i % 3}",
                    session=f"s{i % 5}",
                    occurred_at=now - timedelta(hours=i),
                    input_tokens=1000 + i,
                    output_tokens=10,
                ),
                1_000_000 * (i + 1),
            )
            for i in range(40)
        )
    config = tmp_path / "costwarden.yaml"
    config.write_text("budgets:\n  - id: daily\n    period: day\n    cost_usd: 5\n", encoding="utf-8")
    yield path, config


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--json"],
        ["report", "--last-30-days", "--by", "project", "--json"],
        ["top", "--projects", "--json"],
        ["budget", "status", "--json"],
        ["trends", "--json"],
    ],
    ids=" ".join,
)
def test_reader_answers_beside_a_long_writer(
    capsys: pytest.CaptureFixture[str], db: tuple[Path, Path], command: list[str]
) -> None:
    path, config = db
    # deriving a budget's counters for a new period writes (once per budget and period, the first time
    # anything needs them); once derived, reading them takes no lock
    assert main(["--db", str(path), "--config", str(config), "budget", "status", "--json"]) == 0
    capsys.readouterr()
    with LongWriter(path) as writer:
        code = main(["--db", str(path), "--config", str(config), *command])
        answered_while_held = not writer.released.is_set()
    out, err = capsys.readouterr()
    assert code == 0, err
    json.loads(out)
    assert answered_while_held, f"`{' '.join(command)}` waited for the writer to let go of the lock"


def test_a_database_with_pending_migrations_is_upgraded_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from costwarden.storage.sql.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    with open_ledger(str(path), migrations=MIGRATIONS[:2]):
        pass
    with caplog.at_level("INFO", logger="costwarden.ledger"), open_ledger(str(path)) as ledger:
        assert ledger.pending_migrations() == []
    applied = [r.getMessage() for r in caplog.records if r.name.startswith("costwarden.ledger")]
    assert any("applied" in m and MIGRATIONS[-1].NAME in m for m in applied), applied


def test_the_cli_says_when_it_upgraded_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from costwarden.storage.sql.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    with open_ledger(str(path), migrations=MIGRATIONS[:3]):
        pass
    assert main(["--db", str(path), "report", "--json"]) == 0
    err = capsys.readouterr().err
    for migration in MIGRATIONS[3:]:
        assert f"applied migration {migration.NAME}" in err
    assert main(["--db", str(path), "report", "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_an_up_to_date_database_opens_without_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with open_ledger(str(path)):
        pass
    with LongWriter(path) as writer:
        with open_ledger(str(path)) as ledger:
            assert ledger.pending_migrations() == []
        assert not writer.released.is_set()


def _derived_spent(capsys: pytest.CaptureFixture[str], path: Path, config: Path) -> list[str]:
    """What `budget status` shows once an admission has derived (and stored) the budget's period."""
    from costwarden.budgets import BudgetEngine
    from costwarden.config import settings_from_mapping
    from costwarden.warden import Warden

    settings = settings_from_mapping({"budgets": [{"id": "daily", "period": "day", "cost_usd": "5"}]})
    with Warden(settings, database=str(path)) as warden:
        engine = warden.budgets
        assert isinstance(engine, BudgetEngine)
        (policy,) = engine.policies.policies
        engine.derive(policy)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM budget_derivations").fetchone() == (1,)
    assert main(["--db", str(path), "--config", str(config), "budget", "status", "--json"]) == 0
    return [row["spent"] for row in json.loads(capsys.readouterr().out)]


@pytest.mark.parametrize(
    "command",
    [
        ["budget", "status", "--json"],
        ["report", "--json"],
        ["report", "--by", "project", "--json"],
        ["budget", "check", "--provider", "openai", "--model", "gpt-5", "--input-tokens", "10"],
    ],
    ids=" ".join,
)
def test_a_period_never_derived_is_read_beside_a_long_writer(
    capsys: pytest.CaptureFixture[str], db: tuple[Path, Path], command: list[str]
) -> None:
    """The first read that needs a budget's period (none derived it yet) counts it from the ledger
    without writing, so it answers while a writer holds the lock; the next admission stores it."""
    path, config = db
    with LongWriter(path) as writer:
        code = main(["--db", str(path), "--config", str(config), *command])
        answered_while_held = not writer.released.is_set()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert answered_while_held, f"`{' '.join(command)}` waited for the writer to let go of the lock"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM budget_derivations").fetchone() == (0,)
    if command[0] == "report":
        (row,) = json.loads(out)["budgets"]
        seen = [row["used"]]
    elif command[1] == "status":
        seen = [row["spent"] for row in json.loads(out)]
    else:
        assert "Admitted" in out
        return
    assert seen == _derived_spent(capsys, path, config)
