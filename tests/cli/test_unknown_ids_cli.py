"""An id that names nothing is a usage error (exit 2) in every command that takes one."""

from __future__ import annotations

import pytest

from costwarden.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> str:
    record = ("--db", sqlite_url, "record", "--provider", "openai", "--model", "gpt-4o", "--session", "s1")
    assert run(capsys, *record)[0] == 0
    assert run(capsys, "--db", sqlite_url, "budget", "set", "--daily", "5")[0] == 0
    return sqlite_url


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "--session", "bogus"), "No events for session 'bogus'"),
        (("budget", "remove", "bogus"), "no budget 'bogus'"),
        (("alerts", "--budget", "bogus"), "no budget 'bogus'"),
        (("insights", "--dismiss", "bogus"), "no insight 'bogus'"),
    ],
)
def test_unknown_ids_exit_2(
    capsys: pytest.CaptureFixture[str], db: str, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, "--db", db, *args)
    assert code == 2, err
    assert message in err


def test_known_ids_still_work(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert run(capsys, "--db", db, "report", "--session", "s1")[0] == 0
    assert run(capsys, "--db", db, "alerts", "--budget", "daily")[0] == 0
    assert run(capsys, "--db", db, "budget", "remove", "daily")[0] == 0
