"""docs/cli.md is generated from the app; this fails when it drifts (regenerate with the command below)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from costwarden.cli.docgen import render_reference

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"
REGENERATE = "python -m costwarden.cli.docgen > docs/cli.md"


def test_cli_reference_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_reference(), f"docs/cli.md is stale; run: {REGENERATE}"


def test_every_command_is_documented() -> None:
    from costwarden.cli.app import _register, app

    _register()
    text = render_reference()
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        assert f"`costwarden {name}`" in text
    for group in app.registered_groups:
        assert f"`costwarden {group.name}`" in text


def test_the_generator_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "costwarden.cli.docgen"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout == render_reference()
