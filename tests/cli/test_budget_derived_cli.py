"""A budget set after the spend counts it, from the command line, on SQLite, PostgreSQL and Redis counters:
`record` (or `import claude-code`) $60, then `budget set --project backend-api --monthly 50`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.testing.agent_logs import claude_assistant, write


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def base(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """The global options of every command: `--db` (and a config with `redis_url` for Redis)."""
    if request.param == "postgres":
        yield ["--db", request.getfixturevalue("pg_url")]
        return
    db = request.getfixturevalue("sqlite_url")
    if request.param == "sqlite":
        yield ["--db", db]
        return
    redis_url = request.getfixturevalue("redis_server")
    config = tmp_path / "costwarden.yaml"
    config.write_text(f"redis_url: {redis_url}\n", encoding="utf-8")
    yield ["--db", db, "--config", str(config)]
    from costwarden.storage.redis.counters import RedisCounterStore
    from costwarden.storage.sql.ledger import open_ledger

    ledger = open_ledger(db)
    store = RedisCounterStore(redis_url, ledger)
    store.flush()
    store.close()
    ledger.close()


def status(capsys: pytest.CaptureFixture[str], base: list[str]) -> dict[str, Any]:
    code, out, err = run(capsys, *base, "budget", "status", "--json")
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)}
    return rows["project-backend-api-monthly"]


CHECK = [
    "budget",
    "check",
    "--provider",
    "anthropic",
    "--model",
    "claude-opus-4-1",
    "--input-tokens",
    "1000",
    "--max-tokens",
    "100",
    "--project",
    "backend-api",
]


def test_budget_set_after_record_counts_the_spend(
    capsys: pytest.CaptureFixture[str], base: list[str]
) -> None:
    code, _, err = run(
        capsys,
        *base,
        "record",
        "--provider",
        "anthropic",
        "--model",
        "claude-opus-4-1",
        "--input-tokens",
        "4000000",
        "--project",
        "backend-api",
    )
    assert code == 0, err
    code, _, err = run(capsys, *base, "budget", "set", "--project", "backend-api", "--monthly", "50")
    assert code == 0, err
    row = status(capsys, base)
    assert (row["spent"], row["remaining"]) == ("60.00", "0.00")
    code, out, _ = run(capsys, *base, *CHECK)
    assert code == 1 and "no room" in out
    code, out, _ = run(capsys, *base, *CHECK[:-2], "--project", "frontend")
    assert code == 0 and "Admitted" in out


def test_budget_set_after_import_counts_the_spend(
    capsys: pytest.CaptureFixture[str], base: list[str], tmp_path: Path
) -> None:
    at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    write(
        tmp_path / "claude" / "projects" / "-home-dev-backend-api" / "s1.jsonl",
        [
            claude_assistant(
                message_id="msg_1",
                request_id="req_1",
                at=at,
                output=0,
                cwd="/home/dev/backend-api",
                model="claude-opus-4-1",
                input_tokens=4_000_000,
                cache_read=0,
                write_5m=0,
            )
        ],
    )
    code, out, err = run(capsys, *base, "import", "claude-code", str(tmp_path / "claude"), "--json")
    assert code == 0, err
    assert json.loads(out)["cost_usd"] == "60"
    code, _, err = run(capsys, *base, "budget", "set", "--project", "backend-api", "--monthly", "50")
    assert code == 0, err
    assert status(capsys, base)["spent"] == "60.00"
    code, out, _ = run(capsys, *base, *CHECK)
    assert code == 1 and "no room" in out
