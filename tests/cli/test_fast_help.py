"""`costwarden ... --help` from the stored texts: the same as the Typer app prints, for every command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from costwarden.cli.fasthelp import stored_help
from costwarden.cli.helpgen import command_paths, live_help, render_module
from costwarden.cli.helptexts import TEXTS

REGENERATE = (
    "python -m costwarden.cli.helpgen > src/costwarden/cli/helptexts.py && "
    "ruff format src/costwarden/cli/helptexts.py"
)


def test_every_command_has_its_stored_help_equal_to_the_apps() -> None:
    paths = command_paths()
    assert len(paths) > 30
    assert sorted(TEXTS) == sorted(" ".join(path) for path in paths), f"stale; run: {REGENERATE}"
    for path in paths:
        assert TEXTS[" ".join(path)] == live_help(path), f"stale help of {path}; run: {REGENERATE}"


def test_the_generator_writes_the_stored_texts() -> None:
    namespace: dict[str, object] = {}
    exec(compile(render_module(), "helptexts.py", "exec"), namespace)
    assert namespace["TEXTS"] == TEXTS


def _script(args: list[str], columns: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costwarden", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "COLUMNS": str(columns)},
    )


@pytest.mark.parametrize("args", [["--help"], ["import", "claude-code", "--help"]])
def test_the_console_script_prints_the_apps_help(args: list[str]) -> None:
    done = _script(args, 120)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == live_help(tuple(args[:-1]))


def test_a_narrow_terminal_gets_the_help_from_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    assert stored_help(["report", "--help"]) is None
    done = _script(["report", "--help"], 60)
    assert done.returncode == 0
    assert done.stdout != TEXTS["report"]
    assert max(len(line) for line in done.stdout.splitlines()) <= 60


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["report"],
        ["report", "--json", "--help"],
        ["--no-color", "report", "--help"],
        ["no-such-command", "--help"],
        ["report", "--help", "--json"],
    ],
)
def test_anything_else_goes_to_the_app(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert stored_help(args) is None


def test_an_unknown_command_still_fails_with_usage() -> None:
    done = _script(["no-such-command", "--help"], 100)
    assert done.returncode == 2
    assert "No such command" in done.stderr
