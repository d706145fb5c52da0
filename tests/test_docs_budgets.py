"""docs/budgets.md: its Python examples run as written, its shell session runs, and every config key and
command is documented (a new field or command without docs fails here)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from costwarden.cli import main
from costwarden.cli.budget import budget_app
from costwarden.config import settings_from_mapping
from costwarden.core.policy import (
    AdmissionConfig,
    AlertChannelConfig,
    AlertsConfig,
    BudgetConfig,
    ThresholdConfig,
)
from costwarden.core.routing import ModelConfig, ProviderConfig

DOC = Path(__file__).resolve().parent.parent / "docs" / "budgets.md"
TEXT = DOC.read_text(encoding="utf-8")
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
SHELL = [
    line[2:]
    for block in re.findall(r"```console\n(.*?)```", TEXT, flags=re.S)
    for line in block.splitlines()
    if line.startswith("$ ")
]


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_python_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(PYTHON[index], f"{DOC}:block{index}", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    for expected in re.findall(r"^\s*print\(.*\)\s+# (.+)$", PYTHON[index], flags=re.M):
        assert expected in out, (expected, out)


def test_shell_session_runs(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(SHELL) >= 10
    for line in SHELL:
        args = shlex.split(line)
        assert args[0] == "costwarden"
        code = main(["--db", sqlite_url, *args[1:]])
        out, err = capsys.readouterr()
        assert code == 0, (line, out, err)


def test_yaml_example_is_a_valid_config() -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S)
    settings = settings_from_mapping(yaml.safe_load(block))
    assert [b.id for b in settings.budgets] == ["global-daily", "project-daily", "coder-run", "five-agents"]
    assert str(settings.tz) == "Europe/Berlin"


LONG_RUNS = [
    line
    for block in re.findall(r"```console\n(.*?)```", TEXT, flags=re.S)
    for line in block.splitlines()
    if line.startswith("HYPOTHESIS_PROFILE=")
]


@pytest.mark.parametrize("line", LONG_RUNS)
def test_the_long_model_run_is_collected_as_documented(line: str) -> None:
    """The documented long runs of the model test: pytest accepts their options and collects the test
    (running it is the point of the command, not of this test). `--timeout 0` must be there: a long run
    passes the suite's per-test timeout."""
    words = shlex.split(line)
    env = dict(os.environ)
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert env["HYPOTHESIS_PROFILE"] == "long"
    assert words[0] == ".venv/bin/pytest" and "--timeout 0" in line
    root = DOC.parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *words[1:], "--collect-only", "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_budgets_equal_the_ledger[" in done.stdout


@pytest.mark.parametrize(
    "model",
    [
        BudgetConfig,
        ProviderConfig,
        ModelConfig,
        AlertsConfig,
        AlertChannelConfig,
        AdmissionConfig,
        ThresholdConfig,
    ],
)
def test_every_config_key_is_documented(model: type[BaseModel]) -> None:
    missing = [name for name in model.model_fields if f"`{name}`" not in TEXT]
    assert not missing, f"{model.__name__}: {missing}"


def test_every_command_is_documented() -> None:
    for command in budget_app.registered_commands:
        assert f"`budget {command.name}" in TEXT, command.name
    assert "`alerts [" in TEXT
