"""A Warden over a filled ledger at a fixed "now" (Berlin time, with budgets), and the CLI's JSON for the
same database, so a view's `to_json()` can be compared with what the command prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.core.usage import UsageEvent
from costwarden.storage.sql.ledger import open_ledger
from costwarden.warden import Warden
from reports.history import NOW, latest, make_history, snapshots

BERLIN = ZoneInfo("Europe/Berlin")
BUDGETS = """
budgets:
  - id: monthly
    period: month
    cost_usd: 150
  - id: per-project
    scope: project
    period: month
    cost_usd: 40
  - id: daily
    period: day
    cost_usd: 5
    action: warn
"""


@dataclass
class World:
    """A database holding a known history, its config, the truth and a Warden reading it at NOW."""

    url: str
    config: Path
    truth: list[UsageEvent]
    warden: Warden

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        """What `costwarden ARGS` prints on stdout for this database (exit 0 asserted)."""
        code = main(["--db", self.url, "--config", str(self.config), *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out


def printed(data: Any) -> str:
    """A view's JSON as the CLI prints it."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    history = make_history(count=900, days=120)
    later = snapshots(history)
    ledger = open_ledger(sqlite_url)
    try:
        ledger.append_many(history)
        ledger.append_many(later)
    finally:
        ledger.close()
    config = tmp_path / "costwarden.yaml"
    config.write_text("timezone: Europe/Berlin\n" + BUDGETS, encoding="utf-8")
    warden = Warden(load_settings(config, database=sqlite_url), clock=FixedClock(NOW))
    try:
        yield World(sqlite_url, config, latest([*history, *later]), warden)
    finally:
        warden.close()
