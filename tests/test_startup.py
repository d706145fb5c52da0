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


def test_a_command_loads_its_own_command_module_alone() -> None:
    """`costwarden report ...` registers `report` only; the other commands' modules stay unloaded."""
    action = RUN.format(args=["--db", "sqlite://", "report", "--today", "--json"])
    commands = [name for name in loaded(action) if name.startswith("costwarden.cli.")]
    from costwarden.cli.app import COMMAND_MODULES

    others = {f"costwarden.cli.{module}" for module in COMMAND_MODULES.values()} - {"costwarden.cli.report"}
    assert "costwarden.cli.report" in commands
    assert others.isdisjoint(commands), sorted(others.intersection(commands))


def test_every_command_module_registers_its_own_name() -> None:
    import importlib

    import typer

    from costwarden.cli.app import COMMAND_MODULES

    for name, module in COMMAND_MODULES.items():
        app = typer.Typer()
        importlib.import_module(f"costwarden.cli.{module}").register(app)
        names = [info.name for info in [*app.registered_commands, *app.registered_groups]]
        assert names == [name], module


def test_help_lists_the_commands_in_the_same_order_whatever_ran_first() -> None:
    from costwarden.cli.app import COMMAND_MODULES, _register, app

    _register("watch")
    _register()
    order = list(COMMAND_MODULES)
    for infos in (app.registered_commands, app.registered_groups):
        names = [info.name or "" for info in infos]
        assert names == sorted(names, key=order.index)
    assert {info.name for info in [*app.registered_commands, *app.registered_groups]} == set(order)
