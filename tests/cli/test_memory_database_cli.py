"""`memory://` (a ledger in the process's own memory, `costwarden.storage.open_backend`) is a database URL
like any other for the CLI: in the config file's `database:`, `--db` and `$COSTWARDEN_DATABASE_URL`. Each
command starts from an empty ledger; commands that need stored budgets or an alert feed say so (exit 2)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from costwarden.cli import main

RECORD = ["record", "--provider", "openai", "--model", "gpt-4o", "--input-tokens", "1000", "--json"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["config", "flag", "env"])
def base(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The arguments (and environment) that name `memory://` the three ways."""
    monkeypatch.chdir(tmp_path)
    if request.param == "env":
        monkeypatch.setenv("COSTWARDEN_DATABASE_URL", "memory://")
        return []
    if request.param == "flag":
        return ["--db", "memory://"]
    config = tmp_path / "costwarden.yaml"
    config.write_text("database: memory://\n", encoding="utf-8")
    return ["--config", str(config)]


def test_every_reading_command_takes_a_ledger_in_memory(
    capsys: pytest.CaptureFixture[str], base: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _run(capsys, *base, *RECORD)
    assert code == 0, err
    assert json.loads(out)["cost"] == "0.0025"
    for command in (["report"], ["top"], ["trends"], ["forecast"], ["export"], ["maintain", "--check"]):
        code, out, err = _run(capsys, *base, *command)
        assert code in (0, 1), (command, err)
        assert "unsupported ledger URL" not in err + out, command
    code, out, err = _run(capsys, *base, "report", "--json")
    assert code == 0, err
    assert json.loads(out)["totals"]["events"] == 0  # this command's own, empty ledger
    code, out, err = _run(capsys, *base, "db", "upgrade")
    assert code == 0, err
    assert "memory://" in out and "no schema" in out
    code, out, err = _run(capsys, *base, "budget", "list")
    assert code == 2 and "budgets need a database ledger" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"session_id": "s1", "model": {"id": "x"}})))
    code, out, err = _run(capsys, *base, "statusline", "--no-color")
    assert code == 0, err
    assert "today $0.00" in out
    assert not list(tmp_path.glob("*.db"))  # nothing was written to a file
