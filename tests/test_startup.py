"""What `import costwarden`, `costwarden --version` and `costwarden --help` load: exactly these modules, so
start-up stays fast (bench/bench_startup.py measures it). A module added here on purpose is fine; one that
creeps in is not."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import io, json, sys
before = set(sys.modules)
{action}
print(json.dumps(sorted(set(sys.modules) - before)))
"""

RUN = """
out, sys.stdout = sys.stdout, io.StringIO()
sys.argv = ["costwarden", *{args!r}]
from costwarden.cli import run
try:
    run()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
assert sys.stdout.getvalue(), "nothing printed"
sys.stdout = out
"""


def loaded(action: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(action=action)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"COLUMNS": "100", "PATH": ""},
    )
    assert proc.returncode == 0, proc.stderr
    names: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return names


def test_import_costwarden_loads_the_package_alone() -> None:
    assert loaded("import costwarden") == ["__future__", "costwarden"]


def test_version_loads_only_what_answers_it() -> None:
    assert loaded(RUN.format(args=["--version"])) == [
        "__future__",
        "costwarden",
        "costwarden._version",
        "costwarden.cli",
        "costwarden.cli.entry",
        "costwarden.cli.version",
    ]


@pytest.mark.parametrize("args", [["--help"], ["report", "--help"], ["budget", "status", "--help"]])
def test_help_loads_only_the_stored_texts(args: list[str]) -> None:
    assert loaded(RUN.format(args=args)) == [
        "__future__",
        "costwarden",
        "costwarden.cli",
        "costwarden.cli.entry",
        "costwarden.cli.fasthelp",
        "costwarden.cli.helptexts",
        "costwarden.cli.version",
    ]
