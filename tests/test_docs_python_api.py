"""Every Python example in docs/python-api.md and the README runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


API_BLOCKS = python_blocks(ROOT / "docs" / "python-api.md")
README_BLOCKS = python_blocks(ROOT / "README.md")


@pytest.mark.parametrize("block", API_BLOCKS + README_BLOCKS, ids=lambda b: b.strip().splitlines()[0][:40])
def test_example_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    for text in re.findall(
        r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S
    ):
        if text.startswith("# costwarden.yaml"):
            (tmp_path / "costwarden.yaml").write_text(text, encoding="utf-8")
    if block in API_BLOCKS:  # the reference shows what each call gives, as asserts
        assert "assert " in block or "pytest.raises" in block, "an example without a single assert"
    environ = dict(os.environ)
    namespace: dict[str, object] = {"__name__": "docs_example"}
    exec(compile(block, "example", "exec"), namespace)
    assert dict(os.environ) == environ, "an example leaves the environment as it found it"


def test_there_are_examples() -> None:
    assert len(API_BLOCKS) >= 5
    assert README_BLOCKS
