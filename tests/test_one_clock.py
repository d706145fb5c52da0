"""Nothing in src/ reads the system time on its own: every "now" comes from `costwarden.clock`.

The scan looks at the syntax tree of every module (not at text, so comments and docstrings may mention
the forbidden calls). Monotonic timers (`time.monotonic`, `time.perf_counter`) measure durations and
timeouts, not dates, and stay allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "costwarden"
ALLOWED = {SRC / "clock.py"}

_TIME_READS = {"time", "time_ns", "localtime", "gmtime", "ctime", "asctime"}
_DATE_READS = {"now", "utcnow", "today"}
_DATE_TYPES = {"datetime", "date"}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def system_time_reads(source: str, filename: str = "<src>") -> list[str]:
    """`file:line: expression` of every read of the system time in `source`."""
    found: list[str] = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if alias.name in _TIME_READS:
                    found.append(f"{filename}:{node.lineno}: from time import {alias.name}")
        if not isinstance(node, ast.Attribute):
            continue
        owner = _dotted(node.value)
        if owner is None:
            continue
        last = owner.rsplit(".", 1)[-1]
        if (owner == "time" and node.attr in _TIME_READS) or (
            last in _DATE_TYPES and node.attr in _DATE_READS
        ):
            found.append(f"{filename}:{node.lineno}: {owner}.{node.attr}")
    return found


def test_the_scan_finds_every_spelling() -> None:
    source = (
        "import time, datetime as dt\n"
        "from time import time as now_s\n"
        "from datetime import UTC, date, datetime\n"
        "a = datetime.now(UTC)\n"
        "b = date.today()\n"
        "c = time.time()\n"
        "d = dt.datetime.utcnow()\n"
        "def f(clock=time.time): ...\n"
        "e = time.monotonic()\n"
        "g = datetime.fromtimestamp(0, UTC)\n"
    )
    found = system_time_reads(source)
    assert {line.split(": ", 1)[1] for line in found} == {
        "from time import time",
        "datetime.now",
        "date.today",
        "time.time",
        "dt.datetime.utcnow",
    }
    assert len(found) == 6


def test_no_module_reads_the_system_time() -> None:
    modules = [p for p in sorted(SRC.rglob("*.py")) if p not in ALLOWED]
    assert len(modules) > 50
    found = [
        line
        for path in modules
        for line in system_time_reads(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))
    ]
    assert found == [], "read the time through costwarden.clock instead:\n" + "\n".join(found)
