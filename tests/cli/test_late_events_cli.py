"""An event recorded after `costwarden maintain` with a time before its cut counts everywhere: `report`
(totals, `--by`, days), `budget status`, `budget check`, `budget rebuild`, `maintain --check`, and still
once after the next `maintain` folds it, on SQLite, PostgreSQL and Redis counters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main

NOW = "2026-12-20T12:00:00Z"
RETENTION = "retention:\n  detailed_days: 10\n  daily_days: 60\n"  # cut: 2026-12-10 00:00 UTC
OPUS = ["--provider", "anthropic", "--model", "claude-opus-4-1", "--project", "backend-api"]  # $15 / 1M in


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def base(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """`--db` and `--config` (retention, and `redis_url` for Redis) of every command, the clock at NOW."""
    monkeypatch.setenv("COSTWARDEN_NOW", NOW)
    config = tmp_path / "costwarden.yaml"
    text = RETENTION
    db = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    if request.param == "redis":
        redis_url = request.getfixturevalue("redis_server")
        text += f"redis_url: {redis_url}\n"
    config.write_text(text, encoding="utf-8")
    yield ["--db", db, "--config", str(config)]
    if request.param == "redis":
        from costwarden.storage.redis.counters import RedisCounterStore
        from costwarden.storage.sql.ledger import open_ledger

        ledger = open_ledger(db)
        store = RedisCounterStore(redis_url, ledger)
        store.flush()
        store.close()
        ledger.close()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    return json.loads(out)


def _seen(capsys: pytest.CaptureFixture[str], base: list[str]) -> dict[str, str]:
    """What every reader says was spent (USD)."""
    month = _json(capsys, *base, "report", "--this-month", "--by", "project", "--json")
    (group,) = month["groups"]
    days = _json(
        capsys, *base, "report", "--from", "2026-12-01", "--to", "2026-12-09", "--by", "day", "--json"
    )
    (status,) = _json(capsys, *base, "budget", "status", "--json")
    assert month["budgets"][0]["used"] == status["spent"]
    return {
        "report": month["totals"]["cost"],
        "by project": group["cost"] if group["key"] == {"project": "backend-api"} else "?",
        "by day": ",".join(f"{g['key']['day']}={g['cost']}" for g in days["groups"]),
        "budget status": status["spent"],
    }


def test_an_event_recorded_before_the_retention_cut_counts_everywhere(
    capsys: pytest.CaptureFixture[str], base: list[str]
) -> None:
    code, _, err = _run(
        capsys, *base, "record", *OPUS, "--input-tokens", "1000000", "--at", "2026-12-03T10:00Z"
    )
    assert code == 0, err
    code, _, err = _run(capsys, *base, "budget", "set", "--project", "backend-api", "--monthly", "50")
    assert code == 0, err
    done = _json(capsys, *base, "maintain", "--json")
    assert (done["events_before"], done["events_deleted"]) == ("2026-12-10T00:00:00Z", 1)

    # arrives late: an old log line recorded by hand, dated before the cut
    code, _, err = _run(
        capsys, *base, "record", *OPUS, "--input-tokens", "2000000", "--at", "2026-12-04T09:30Z"
    )
    assert code == 0, err
    want = {
        "report": "45.00",
        "by project": "45.00",
        "by day": "2026-12-03=15.00,2026-12-04=30.00",
        "budget status": "45.00",
    }
    assert _seen(capsys, base) == want
    check = ["budget", "check", *OPUS, "--input-tokens", "400000", "--max-tokens", "1"]
    code, out, _ = _run(capsys, *base, *check)  # $6 more would take $45 past $50
    assert code == 1 and "no room" in out
    assert _json(capsys, *base, "maintain", "--check", "--json")["mismatched_hours"] == []
    code, _, err = _run(capsys, *base, "budget", "rebuild")
    assert code == 0, err
    assert _seen(capsys, base) == want
    _json(capsys, *base, "maintain", "--json")  # folds the late hour into its day
    assert _seen(capsys, base) == want
    assert _json(capsys, *base, "maintain", "--check", "--json")["mismatched_hours"] == []


def test_record_of_an_id_retention_already_deleted_counts_once(
    capsys: pytest.CaptureFixture[str], base: list[str]
) -> None:
    record = ["record", *OPUS, "--input-tokens", "1000000", "--at", "2026-12-03T10:00Z", "--id", "call-7"]
    code, _, err = _run(capsys, *base, *record)
    assert code == 0, err
    code, _, err = _run(capsys, *base, "budget", "set", "--project", "backend-api", "--monthly", "50")
    assert code == 0, err
    assert _json(capsys, *base, "maintain", "--json")["events_deleted"] == 1
    for _ in range(2):  # the same call recorded again after its event was folded into the rollups
        code, _, err = _run(capsys, *base, *record)
        assert code == 0, err
    assert _seen(capsys, base) == {
        "report": "15.00",
        "by project": "15.00",
        "by day": "2026-12-03=15.00",
        "budget status": "15.00",
    }
    code, _, err = _run(capsys, *base, "budget", "rebuild")
    assert code == 0, err
    assert _seen(capsys, base)["budget status"] == "15.00"
