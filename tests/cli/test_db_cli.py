from __future__ import annotations

from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.storage.sql.migrations import MIGRATIONS


def test_db_upgrade_applies_then_reports_up_to_date(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert main(["--no-color", "--db", db, "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"Applied {len(MIGRATIONS)} migration(s): " in out
    assert MIGRATIONS[0].NAME in out
    assert main(["--no-color", "--db", db, "db", "upgrade"]) == 0
    assert "The database is up to date." in capsys.readouterr().out
