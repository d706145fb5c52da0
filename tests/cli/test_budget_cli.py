"""`costwarden budget ...` and `costwarden alerts`: budgets kept in the database, config wins, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_set_list_status_remove(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(capsys, "--db", db, "budget", "set", "--daily", "10")
    assert (code, out) == (0, "Set budget 'daily': $10.00 per day (global), block at the limit.\n")
    assert run(capsys, "--db", db, "budget", "set", "--monthly", "$200")[0] == 0
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "budget",
        "set",
        "--project",
        "backend-api",
        "--monthly",
        "50",
        "--threshold",
        "80%",
    )
    assert out == (
        "Set budget 'project-backend-api-monthly': $50.00 per month (project=backend-api), "
        "block at the limit.\n"
    )
    listed = as_json(capsys, "--db", db, "budget", "list")
    assert [
        (b["id"], b["origin"], b["scope"], b["period"], b["cost_usd"], b["thresholds"]) for b in listed
    ] == [
        ("daily", "cli", "global", "day", "10.00", ["50", "80", "95"]),
        ("monthly", "cli", "global", "month", "200.00", ["50", "80", "95"]),
        ("project-backend-api-monthly", "cli", "project=backend-api", "month", "50.00", ["80"]),
    ]
    code, _, _ = run(
        capsys,
        "--db",
        db,
        "record",
        "--provider",
        "openai",
        "--model",
        "gpt-4o",
        "--input-tokens",
        "1000000",
        "--output-tokens",
        "1000000",
        "--project",
        "backend-api",
    )
    assert code == 0  # $2.50 + $10.00
    status = {(r["id"], r["scope"]): r for r in as_json(capsys, "--db", db, "budget", "status")}
    daily = status[("daily", "global")]
    assert (daily["limit"], daily["spent"], daily["reserved"], daily["remaining"], daily["percent"]) == (
        "10.00",
        "12.50",
        "0.00",
        "0.00",
        "125.0",
    )
    assert daily["state"] == "exhausted" and daily["resets_at"].endswith("T00:00:00Z")
    project = status[("project-backend-api-monthly", "project=backend-api")]
    assert (project["spent"], project["remaining"], project["percent"], project["state"]) == (
        "12.50",
        "37.50",
        "25.0",
        "ok",
    )
    assert project["projected"] is not None
    code, out, _ = run(capsys, "--db", db, "budget", "status")
    assert code == 0 and "daily" in out and "$12.50" in out and "125.0%" in out
    assert run(capsys, "--db", db, "budget", "remove", "--monthly", "--project", "backend-api")[:2] == (
        0,
        "Removed budget 'project-backend-api-monthly'.\n",
    )
    assert run(capsys, "--db", db, "budget", "remove", "monthly")[0] == 0
    code, _, err = run(capsys, "--db", db, "budget", "remove", "monthly")
    assert (code, err) == (2, "costwarden: no budget 'monthly' was set from the CLI\n")
    assert [b["id"] for b in as_json(capsys, "--db", db, "budget", "list")] == ["daily"]


def test_alerts_feed(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert run(capsys, "--db", db, "budget", "set", "--daily", "10")[0] == 0
    for _ in range(2):
        run(
            capsys,
            "--db",
            db,
            "record",
            "--provider",
            "openai",
            "--model",
            "gpt-4o",
            "--output-tokens",
            "450000",
        )
    feed = as_json(capsys, "--db", db, "alerts")
    assert [(a["kind"], a["threshold"], a["budget_id"]) for a in feed] == [
        ("threshold", "80", "daily"),
        ("threshold", "50", "daily"),
    ]
    assert feed[0]["message"] == "Budget 'daily' (global, day) reached 80% of its $10.00 limit: $9.00 spent"
    assert as_json(capsys, "--db", db, "alerts", "--kind", "block") == []
    code, out, _ = run(capsys, "--db", db, "alerts", "--limit", "1")
    assert code == 0 and "reached 80%" in out and "reached 50%" not in out
    assert run(capsys, "--db", db, "alerts", "--kind", "nonsense")[0] == 2


def test_check_says_whether_a_call_fits(capsys: pytest.CaptureFixture[str], db: str) -> None:
    run(capsys, "--db", db, "budget", "set", "--daily", "1")
    call = [
        "--db",
        db,
        "budget",
        "check",
        "--provider",
        "openai",
        "--model",
        "gpt-4o",
        "--input-tokens",
        "1000",
    ]
    code, out, _ = run(capsys, *call, "--max-tokens", "1000")
    assert code == 0 and out.endswith("Admitted.\n") and "Worst case of the call: $0.0125" in out
    code, out, err = run(capsys, *call, "--max-tokens", "100000")  # $1.0025 > $1
    assert code == 1
    assert "daily (global, day): no room ($1.00 left)" in out
    assert err.startswith("costwarden: Budget 'daily' exhausted")


def test_config_wins_on_the_same_id(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    config = tmp_path / "costwarden.yaml"
    config.write_text("budgets:\n  - {id: daily, period: day, cost_usd: 20}\n", encoding="utf-8")
    base = ["--db", db, "--config", str(config)]
    code, _, err = run(capsys, *base, "budget", "set", "--daily", "5")
    assert code == 0
    assert err == f"Note: {config} also defines budget 'daily'; the config file wins while it does.\n"
    listed = as_json(capsys, *base, "budget", "list")
    assert [(b["id"], b["origin"], b["cost_usd"], b["overrides_cli"]) for b in listed] == [
        ("daily", "config", "20.00", True)
    ]
    code, out, err = run(capsys, *base, "budget", "list")
    assert "config (overrides the CLI)" in out
    code, _, err = run(capsys, *base, "budget", "status")
    assert err == "Note: the config file overrides budget(s) set from the CLI: daily\n"
    code, _, err = run(capsys, *base, "budget", "remove", "daily")  # removes the CLI copy
    assert code == 0 and "the config file still defines 'daily'; it stays in force" in err
    code, _, err = run(capsys, *base, "budget", "remove", "daily")
    assert code == 1 and err == f"costwarden: budget 'daily' comes from {config}; remove it there\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--daily", "abc"], "expected an amount in USD, got 'abc'"),
        (["--daily", "-3"], "expected a non-negative amount"),
        (["--project", "x"], "say which period"),
        (["--daily", "1", "--monthly", "2"], "give one of --hourly, --daily"),
        (["--period", "fortnight", "--limit", "1"], "expected a period"),
        (["--daily", "1", "--action", "explode"], "action"),
        (["--daily", "1", "--tag", "team"], "expected NAME=VALUE"),
    ],
)
def test_bad_usage_exits_2(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "--db", sqlite_url, "budget", "set", *args)
    assert code == 2
    assert message in err


def test_other_periods_scopes_and_limits(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    code, out, _ = run(
        capsys,
        "--db",
        sqlite_url,
        "budget",
        "set",
        "--period",
        "rolling: 5h",
        "--limit",
        "3",
        "--agent",
        "coder",
        "--tag",
        "team=red",
        "--tokens",
        "100000",
        "--action",
        "warn",
    )
    assert out == (
        "Set budget 'agent-coder-team-red-rolling-5h': $3.00 and 100,000 tokens per rolling 5h "
        "(agent=coder, tag:team=red), warn at the limit.\n"
    )
    listed = as_json(capsys, "--db", sqlite_url, "budget", "list")
    assert listed[0]["where"] == {"tag:team": ["red"]} and listed[0]["tokens"] == 100000
    status = as_json(capsys, "--db", sqlite_url, "budget", "status")
    assert [(r["scope"], r["unit"]) for r in status] == [
        ("agent=coder|tag:team=red", "cost_usd"),
        ("agent=coder|tag:team=red", "tokens"),
    ]
    code, out, _ = run(capsys, "--db", sqlite_url, "budget", "rebuild")
    assert code == 0 and out.startswith("Rebuilt 0 counter(s) of 1 budget(s) from the ledger.")


def test_empty_database(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    assert run(capsys, "--db", sqlite_url, "db", "upgrade")[0] == 0
    assert (
        run(capsys, "--db", sqlite_url, "budget", "list")[1]
        == "No budgets. Set one with: costwarden budget set --daily 10\n"
    )
    assert run(capsys, "--db", sqlite_url, "alerts")[1] == "No alerts.\n"
