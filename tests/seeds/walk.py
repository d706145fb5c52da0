"""Walking a seed as its author would: a database and a config file in a temporary folder, a fixed "now",
and `costwarden ...` run in-process with what it printed and its exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.warden import Warden

__all__ = ["Walk", "Ran"]


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Walk:
    """One seed's folder: `db` (a SQLite URL), `config` (a file the test writes, or None) and `now`."""

    folder: Path
    now: datetime
    capsys: pytest.CaptureFixture[str]
    config: Path | None = None

    @property
    def db(self) -> str:
        return f"sqlite:///{self.folder / 'costs.db'}"

    def write_config(self, name: str, text: str) -> Path:
        self.config = self.folder / name
        self.config.write_text(text, encoding="utf-8")
        return self.config

    def run(self, *args: str) -> Ran:
        """`costwarden --db DB [--config FILE] ARGS`."""
        head = ["--db", self.db] + (["--config", str(self.config)] if self.config is not None else [])
        self.capsys.readouterr()
        code = main([*head, *args])
        out, err = self.capsys.readouterr()
        return Ran(code, out, err)

    def ok(self, *args: str) -> str:
        ran = self.run(*args)
        assert ran.code == 0, ran.err
        return ran.out

    def warden(self) -> Warden:
        """A Warden over the same database and config at `now` (close it)."""
        settings = load_settings(self.config, database=self.db)
        return Warden(settings, clock=FixedClock(self.now))


def walk(
    tmp_path: Path, now: datetime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Walk:
    monkeypatch.setenv("COSTWARDEN_NOW", now.isoformat())
    return Walk(tmp_path, now, capsys)
