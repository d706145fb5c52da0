"""Owner-only files, masked secrets, and read commands that do not create a database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from costwarden import Warden
from costwarden.cli import main
from costwarden.core.redact import mask_url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_folders_are_owner_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "a" / "b" / "costwarden.db"
    code, _, err = run(
        capsys, "--db", f"sqlite:///{db}", "record", "--provider", "openai", "--model", "gpt-4o"
    )
    assert code == 0, err
    assert mode(db) == 0o600
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
    for sidecar in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if sidecar.exists():
            assert mode(sidecar) & 0o077 == 0, sidecar


def test_the_default_database_is_owner_only(capsys: pytest.CaptureFixture[str], _isolated_env: Path) -> None:
    code, _, err = run(capsys, "record", "--provider", "openai", "--model", "gpt-4o")
    assert code == 0, err
    data = _isolated_env / ".local" / "share" / "costwarden"
    assert mode(data / "costwarden.db") == 0o600
    assert mode(data) == 0o700


def test_the_python_api_creates_owner_only_files(tmp_path: Path) -> None:
    db = tmp_path / "api" / "ledger.db"
    with Warden(database=f"sqlite:///{db}") as warden:
        warden.record(provider="openai", model="gpt-4o", input_tokens=10)
    assert mode(db) == 0o600 and mode(db.parent) == 0o700


def test_an_existing_folder_keeps_its_mode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert (
        run(
            capsys,
            "--db",
            f"sqlite:///{shared / 'x.db'}",
            "record",
            "--provider",
            "openai",
            "--model",
            "gpt-4o",
        )[0]
        == 0
    )
    assert mode(shared) == 0o755 and mode(shared / "x.db") == 0o600


@pytest.mark.parametrize(
    "command",
    [
        ("report",),
        ("top",),
        ("trends",),
        ("export",),
        ("forecast",),
        ("analyze",),
        ("insights",),
        ("budget", "status"),
        ("budget", "list"),
        ("alerts",),
    ],
)
def test_read_commands_on_a_missing_database_say_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "typo" / "nothere.db"
    code, out, err = run(capsys, "--db", f"sqlite:///{missing}", *command)
    assert code == 2, (out, err)
    assert f"no database at {missing}" in err
    assert not missing.exists() and not missing.parent.exists()


def test_write_commands_still_create_the_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "new" / "x.db"
    assert run(capsys, "--db", f"sqlite:///{db}", "budget", "set", "--daily", "5")[0] == 0
    assert db.exists()
    assert run(capsys, "--db", f"sqlite:///{db}", "budget", "status")[0] == 0


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://alice:s3cret@db.example:5432/ledger", "postgresql://alice:***@db.example:5432/ledger"),
        (
            "postgresql+psycopg://u:p%40ss@h/db?sslmode=require",
            "postgresql+psycopg://u:***@h/db?sslmode=require",
        ),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://default:tok@cache/1", "rediss://default:***@cache/1"),
        ("postgresql://h/db?user=u&password=s3cret", "postgresql://h/db?user=u&password=***"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("postgresql://alice@h/db", "postgresql://alice@h/db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_db_upgrade_does_not_print_the_password(capsys: pytest.CaptureFixture[str], pg_url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_url)
    with_password = urlunsplit(
        parts._replace(
            netloc=f"{parts.username or 'postgres'}:s3cret-pw@{parts.hostname}:{parts.port or 5432}"
        )
    )
    code, out, err = run(capsys, "--db", with_password, "db", "upgrade")
    assert code == 0, err  # trust authentication ignores the password
    assert "s3cret-pw" not in out + err
    assert ":***@" in out


def test_a_bad_redis_url_is_not_echoed_with_its_password() -> None:
    from costwarden import ConfigError
    from costwarden.config import settings_from_mapping

    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"redis_url": "http://user:topsecret@x"}, "c.yaml")
    assert "topsecret" not in str(caught.value)
