"""`costwarden keys create/list/revoke`: the secret once, JSON, bad input (exit 2)."""

from __future__ import annotations

import json

import pytest

from costwarden import Warden
from costwarden.access import key_ring
from costwarden.cli import main
from costwarden.config import Settings


def _keys(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    code = main(["--no-color", "--db", db, "keys", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_prints_the_secret_once_then_list_and_revoke(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code, out, _ = _keys(capsys, sqlite_url, "create", "--role", "writer", "--project", "web", "--name", "ci")
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("cwk_")
    with Warden(Settings(database=sqlite_url)) as warden:
        key = key_ring(warden).authenticate(secret)
    assert key is not None and key.name == "ci" and key.projects == ("web",)
    code, out, _ = _keys(capsys, sqlite_url, "list", "--json")
    listed = json.loads(out)
    assert code == 0 and [k["id"] for k in listed] == [key.id]
    assert secret not in out and "hash" not in out
    code, out, _ = _keys(capsys, sqlite_url, "list")
    assert key.id in out and "writer" in out and secret not in out
    assert _keys(capsys, sqlite_url, "revoke", key.id)[0] == 0
    assert json.loads(_keys(capsys, sqlite_url, "list", "--json")[1]) == []
    assert json.loads(_keys(capsys, sqlite_url, "list", "--all", "--json")[1])[0]["revoked_at"] is not None


def test_gateway_keys(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    code, out, _ = _keys(
        capsys,
        sqlite_url,
        "create",
        "--gateway",
        "--project",
        "X",
        "--agent",
        "Y",
        "--allow",
        "session",
        "--json",
    )
    made = json.loads(out)
    assert code == 0
    assert made["role"] == "gateway" and made["projects"] == ["X"] and made["agent"] == "Y"
    assert made["overrides"] == ["session"] and made["secret"].startswith("cwk_")


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["create", "--role", "boss"], "--role"),
        (["create", "--role", "gateway"], "--role"),
        (["create", "--role", "reader", "--agent", "x"], "--agent"),
        (["create", "--gateway", "--project", "a", "--project", "b"], "--project"),
        (["create", "--gateway", "--allow", "cost"], "--allow"),
        (["revoke", "nope"], "KEY_ID"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, args: list[str], flag: str
) -> None:
    code, _, err = _keys(capsys, sqlite_url, *args)
    assert code == 2
    assert flag in err
    assert json.loads(_keys(capsys, sqlite_url, "list", "--all", "--json")[1]) == []
