from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_record_prints_json_with_exact_cost(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "record",
        "--provider",
        "anthropic",
        "--model",
        "claude-sonnet-4-5",
        "--input-tokens",
        "1200",
        "--cache-read-tokens",
        "30000",
        "--cache-write-tokens",
        "1000",
        "--output-tokens",
        "800",
        "--project",
        "backend-api",
        "--agent",
        "reviewer",
        "--session",
        "s-42",
        "--tag",
        "team=red",
        "--id",
        "call-1",
        "--at",
        "2026-11-01T10:00:00+01:00",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    # 1200*3 + 30000*0.30 + 1000*3.75 + 800*15 = 3600 + 9000 + 3750 + 12000 = 28350 per million -> $0.02835
    assert payload["cost"] == "0.02835"
    assert payload["cost_source"] == "computed"
    assert payload["id"] == "call-1"
    assert payload["occurred_at"] == "2026-11-01T09:00:00Z"
    assert payload["project"] == "backend-api"
    assert payload["tags"] == {"team": "red"}
    assert payload["source"] == "cli"
    assert payload["cost_breakdown"]["cache_read"] == "0.009"


def test_record_is_idempotent_on_id(capsys: pytest.CaptureFixture[str], db: str) -> None:
    args = [
        "--db",
        db,
        "record",
        "--provider",
        "openai",
        "--model",
        "gpt-5",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "100",
        "--id",
        "same",
        "--json",
    ]
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args)[0] == 0
    from costwarden.storage.sql.ledger import open_ledger

    ledger = open_ledger(db)
    try:
        totals = ledger.totals()
    finally:
        ledger.close()
    assert totals[0].events == 1
    # 1000 * 1.25 + 100 * 10 = 2250 per million
    assert str(totals[0].cost) == "0.00225"


def test_record_table_output(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys,
        "--no-color",
        "--db",
        db,
        "record",
        "--provider",
        "openai",
        "--model",
        "gpt-5",
        "--input-tokens",
        "10",
    )
    assert code == 0
    assert "openai/gpt-5" in out
    assert "computed" in out


def test_record_unknown_model_is_flagged(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "record",
        "--provider",
        "acme",
        "--model",
        "mystery-1",
        "--input-tokens",
        "1000000",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["cost_source"] == "unpriced"
    assert payload["cost"] == "15.00"  # fallback: $15 per million input tokens


def test_bad_flag_value_exits_2(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(
        capsys, "--db", db, "record", "--provider", "openai", "--model", "gpt-5", "--input-tokens", "-5"
    )
    assert code == 2
    assert "--input-tokens" in err


def test_bad_at_exits_2(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(
        capsys, "--db", db, "record", "--provider", "openai", "--model", "gpt-5", "--at", "yesterday"
    )
    assert code == 2
    assert "--at" in err
    assert "ISO-8601" in err


def test_bad_tag_exits_2(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(
        capsys, "--db", db, "record", "--provider", "openai", "--model", "gpt-5", "--tag", "oops"
    )
    assert code == 2
    assert "NAME=VALUE" in err


def test_config_error_exits_2_naming_file_and_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("retention:\n  detailed_dayz: 1\n")
    code, _, err = run(capsys, "--config", str(cfg), "tiers", "list")
    assert code == 2
    assert err.strip() == f"costwarden: configuration error: {cfg}: retention.detailed_dayz: unknown key"


def test_no_color_is_plain_even_on_a_terminal(capsys: pytest.CaptureFixture[str], db: str) -> None:
    from costwarden.cli.app import _console

    plain = _console(True)
    with plain.capture() as captured:
        plain.print("[bold red]spent[/] [dim]$1[/]")
    assert captured.get() == "spent $1\n"
    assert plain.color_system is None


def _record(
    capsys: pytest.CaptureFixture[str], db: str, provider: str, model: str, event_id: str
) -> dict[str, Any]:
    code, out, err = run(
        capsys,
        "--db",
        db,
        "record",
        "--provider",
        provider,
        "--model",
        model,
        "--input-tokens",
        "100000",
        "--id",
        event_id,
        "--json",
    )
    assert code == 0, err
    payload: dict[str, Any] = json.loads(out)
    return payload


def test_one_provider_one_name_in_budgets_and_reports(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(capsys, "--db", db, "budget", "set", "--monthly", "50", "--provider", "anthropic")
    assert code == 0, err
    first = _record(capsys, db, "claude", "claude-sonnet-4-5-20250929", "a")
    _record(capsys, db, "anthropic", "claude-sonnet-4-5", "b")
    _record(capsys, db, "claude", "claude-sonnet-4-5", "c")
    assert (first["provider"], first["model"]) == ("anthropic", "claude-sonnet-4-5")
    assert (first["given_provider"], first["given_model"]) == ("claude", "claude-sonnet-4-5-20250929")
    assert first["cost"] == "0.30"

    code, out, err = run(capsys, "--db", db, "budget", "status", "--json")
    assert code == 0, err
    (status,) = json.loads(out)
    assert status["spent"] == "0.90"

    def groups(*keys: str) -> list[tuple[dict[str, str], str]]:
        args = ["--db", db, "report", "--json"]
        for key in keys:
            args += ["--by", key]
        code, out, err = run(capsys, *args)
        assert code == 0, err
        return [(g["key"], g["cost"]) for g in json.loads(out)["groups"]]

    assert groups("provider") == [({"provider": "anthropic"}, "0.90")]
    assert groups("model") == [({"model": "claude-sonnet-4-5"}, "0.90")]
    assert groups("given_model") == [
        ({"given_model": "claude-sonnet-4-5"}, "0.60"),
        ({"given_model": "claude-sonnet-4-5-20250929"}, "0.30"),
    ]
    assert groups("given_provider") == [
        ({"given_provider": "claude"}, "0.60"),
        ({"given_provider": "anthropic"}, "0.30"),
    ]


def test_long_ids_are_hashed_not_truncated(capsys: pytest.CaptureFixture[str], db: str) -> None:
    long = "call-" + "x" * 300
    for n in range(5):
        payload = _record(capsys, db, "openai", "gpt-5", f"{long}{n}")
        assert len(payload["id"]) <= 255 and payload["given_id"] == f"{long}{n}"
    again = _record(capsys, db, "openai", "gpt-5", f"{long}0")  # the same long id: the same event
    code, out, err = run(capsys, "--db", db, "report", "--json")
    assert code == 0, err
    assert json.loads(out)["totals"]["events"] == 5
    assert again["id"] == _record(capsys, db, "openai", "gpt-5", f"{long}0")["id"]


def test_record_names_the_plan_and_report_plan_counts_it(capsys: pytest.CaptureFixture[str], db: str) -> None:
    for tokens in ("100000", "50000"):
        code, out, err = run(
            capsys,
            *("--db", db, "record", "--provider", "anthropic", "--model", "claude-sonnet-4-5"),
            *("--input-tokens", tokens, "--plan", "release-42", "--at", "2026-11-01T10:00:00Z", "--json"),
        )
        assert code == 0, err
        assert json.loads(out)["plan"] == "release-42"
    code, out, err = run(capsys, "--db", db, "report", "--plan", "release-42", "--json")
    assert code == 0, err
    totals = json.loads(out)["totals"]
    assert (totals["events"], totals["cost"]) == (2, "0.45")  # 150,000 input tokens at $3 per million
