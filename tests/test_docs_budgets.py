"""docs/budgets.md: its Python examples run as written, its shell session runs, and every config key and
command is documented (a new field or command without docs fails here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from pydantic import BaseModel

from costwarden.cli import main
from costwarden.cli.budget import budget_app
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
