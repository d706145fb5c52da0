"""Shared by the reporting CLI tests: a filled ledger per backend, a fixed "now", and runners."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from costwarden.cli import main
from costwarden.core.usage import UsageEvent
from costwarden.reports.formats import money
from costwarden.storage.sql.ledger import open_ledger
from reports.history import NOW, latest, make_history, oracle, snapshots

__all__ = ["NOW", "BERLIN", "Filled", "filled_db", "run", "run_json", "expected_money", "oracle"]

BERLIN = ZoneInfo("Europe/Berlin")


class Filled:
    """A database URL holding the constructed history, with the config that reads it in Berlin time."""

    def __init__(self, url: str, config: Path, truth: list[UsageEvent]) -> None:
        self.url = url
        self.config = config
        self.truth = truth

    def args(self, *rest: str) -> list[str]:
        return ["--db", self.url, "--config", str(self.config), *rest]


def fill(url: str, tmp_path: Path, extra_config: str = "") -> Filled:
    history = make_history(count=900, days=120)
    later = snapshots(history)
    ledger = open_ledger(url)
    try:
        ledger.append_many(history)
        ledger.append_many(later)
    finally:
        ledger.close()
    config = tmp_path / "costwarden.yaml"
    config.write_text("timezone: Europe/Berlin\n" + extra_config, encoding="utf-8")
    return Filled(url, config, latest([*history, *later]))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def filled_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Filled]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    yield fill(url, tmp_path)


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> Any:
    code, out, err = run(capsys, args)
    assert code == 0, err
    return json.loads(out)


def expected_money(
    truth: list[UsageEvent],
    start: datetime | None = None,
    end: datetime | None = None,
    where: dict[str, str | None] | None = None,
) -> str:
    return money(oracle(truth, (), BERLIN, start, end, where)[0].cost)
