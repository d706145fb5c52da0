"""The root command: global flags before or after the subcommand, `--version`, fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from costwarden.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"costwarden {version('costwarden')}\n")


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    """`costwarden --version` answers without loading the CLI, pydantic, SQLAlchemy or the price catalog."""
    probe = (
        "import sys\n"
        "from costwarden.cli import run\n"
        "sys.argv = ['costwarden', '--version']\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = [m for m in ('typer', 'rich', 'pydantic', 'sqlalchemy', 'genai_prices', 'costwarden.warden',"
        " 'costwarden.config', 'yaml') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--no-color", "budget", "list", "--json"),
        ("budget", "list", "--json", "--no-color"),
        ("budget", "--no-color", "list", "--json"),
    ],
)
def test_no_color_before_or_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, args: tuple[str, ...]
) -> None:
    assert run(capsys, "--db", sqlite_url, "db", "upgrade")[0] == 0
    code, out, err = run(capsys, "--db", sqlite_url, *args)
    assert code == 0, err
    assert json.loads(out) == []


def test_db_and_config_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("budgets:\n  - {id: from-file, period: day, cost_usd: 5}\n", encoding="utf-8")
    code, _, err = run(capsys, "record", "--provider", "openai", "--model", "gpt-4o", "--db", sqlite_url)
    assert code == 0, err
    code, out, err = run(capsys, "budget", "list", "--json", f"--config={config}", "--db", sqlite_url)
    assert code == 0, err
    assert [b["id"] for b in json.loads(out)] == ["from-file"]
    code, out, err = run(capsys, "report", "--format", "json", "--db", sqlite_url)
    assert code == 0, err
    assert json.loads(out)["totals"]["events"] == 1


def test_a_subcommand_keeps_its_own_flag_of_the_same_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`demo --db` is demo's own option: it is not moved in front as the global one."""
    from costwarden.cli.app import hoist_global_flags

    assert hoist_global_flags(["demo", "--db", "x.db"]) == ["demo", "--db", "x.db"]
    assert hoist_global_flags(["report", "--db", "x.db", "--no-color"]) == [
        "--db",
        "x.db",
        "--no-color",
        "report",
    ]
    assert hoist_global_flags(["record", "--project", "p", "--", "--no-color"]) == [
        "record",
        "--project",
        "p",
        "--",
        "--no-color",
    ]
