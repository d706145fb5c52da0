"""The Python examples of docs/providers.md run as written (offline, the SDK against the fake provider)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "providers.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(BLOCKS[index], f"{DOC}:block{index}", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    for expected in re.findall(r"^\s*print\(.*\)\s+# (.+)$", BLOCKS[index], flags=re.M):
        assert expected in out, (expected, out)  # the output the comment promises
