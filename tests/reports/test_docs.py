"""The examples of docs/reports.md run: the Python block builds `example.db`, every shell line runs on it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from costwarden.cli import main

DOC = Path(__file__).parents[2] / "docs" / "reports.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_reports_doc_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    python = _blocks("python")
    assert python
    for block in python:
        exec(compile(block, str(DOC), "exec"), {"__name__": "docs_example"})
    lines = [line for block in _blocks("sh") for line in block.splitlines()]
    commands = [line for line in lines if line.startswith("costwarden ")]
    assert len(commands) > 20
    for line in commands:
        code = main(shlex.split(line)[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{line}\n{err}"
        assert out or "Exported" in err or "--output" in line, line
    assert (tmp_path / "month.csv").read_text(encoding="utf-8").startswith("id,occurred_at,")
