"""`costwarden quota report` and `quota status`: the seed's shape, the view's JSON, bad input exits 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow
from costwarden.views.quota_status import QuotaQuery, quota_status_view
from costwarden.warden import Warden

NOW = "2026-12-01T15:36:00Z"
CONFIG = """
timezone: Europe/Berlin
pricing:
  custom_models: [{provider: anthropic, model: claude-x, input: "3", output: "15"}]
subscriptions:
  - provider: anthropic
    plan: claude-pro
    windows:
      - {name: messages-day, unit: messages, limit: 300, reset: daily 00:00}
  - provider: codex
    plan: chatgpt-plus
"""


@pytest.fixture
def setup(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("COSTWARDEN_NOW", NOW)
    at = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    with Warden(load_settings(config, database=sqlite_url)) as warden:
        for i, project in enumerate(["backend-api"] * 28 + ["frontend"] * 17):
            warden.record(
                provider="anthropic",
                model="claude-x",
                input_tokens=100,
                output_tokens=10,
                occurred_at=at + timedelta(minutes=i),
                project=project,
                agent="claude-code",
            )
        windows = {
            "primary-300m": QuotaWindow("primary-300m", utilization=0.62, reset_at=at + timedelta(hours=17))
        }
        warden.quotas.record(QuotaSnapshot("codex", at + timedelta(hours=15), windows, source="codex"))
    return config, sqlite_url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_in_the_seed_shape(setup: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, url = setup
    code, out, _ = run(capsys, "--config", str(config), "--db", url, "--no-color", "quota", "report")
    assert code == 0
    assert "Claude Pro (anthropic) — $20.00 per month" in out
    assert "messages-day (daily 00:00): 45 / 300 messages (15%)" in out
    assert "resets 2026-12-02 00:00 CET (in 7h 24m)" in out
    assert "backend-api: 28 (62%), frontend: 17 (38%)" in out
    assert "5h (rolling 5h): 62% used" in out
    assert "Billing period since 2026-12-01 00:00 CET: $0.02025 at API prices" in out


def test_status_json_is_the_views(
    setup: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, url = setup
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "--config", str(config), "--db", url, "quota", "status", "--json")
    assert code == 0
    data = json.loads(out)
    settings = load_settings(config, database=url)
    with Warden(settings, clock=FixedClock(datetime(2026, 12, 1, 15, 36, tzinfo=UTC))) as warden:
        assert data == quota_status_view(warden, QuotaQuery()).to_json()
    assert data["statusline"] == (
        "claude-pro messages-5h: 0% | claude-pro messages-day: 15% | chatgpt-plus 5h: 62%"
    )
    code, table, _ = run(capsys, "--config", str(config), "--db", url, "--no-color", "quota", "status")
    assert code == 0 and "messages-day" in table and "primary-300m" in table


def test_account_needs_provider(setup: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, url = setup
    code, _, err = run(capsys, "--config", str(config), "--db", url, "quota", "status", "--account", "x")
    assert code == 2 and "--account needs --provider" in err


def test_a_bad_plan_names_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "subscriptions:\n  - provider: x\n    windows: [{name: w, unit: requests, limit: 3, reset: hourly}]\n"
    )
    code, _, err = run(capsys, "--config", str(config), "quota", "report")
    assert code == 2
    assert "bad.yaml" in err and "subscriptions[0].windows[0].reset" in err


def test_no_plans_no_readings(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--db", sqlite_url, "quota", "report")
    assert code == 2 and "no database at" in err  # a read-only command creates no database
    with Warden(database=sqlite_url) as warden:
        warden.ledger.upgrade()
    code, out, _ = run(capsys, "--db", sqlite_url, "quota", "report")
    assert code == 0 and "No subscriptions configured" in out


def test_report_and_watch_statusline_carry_the_plans(
    setup: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, url = setup
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "--config", str(config), "--db", url, "--no-color", "report")
    assert code == 0
    assert "Subscriptions (flat, apart from the metered cost above):" in out
    assert (
        "  Claude Pro (anthropic) · $20.00 per month · messages-5h 0%, messages-day 15% · "
        "$0.02025 at API prices this billing period" in out
    )
    assert "  ChatGPT Plus (codex) · $20.00 per month · 5h 62% · $0.00 at API prices" in out
    code, out, _ = run(capsys, "--config", str(config), "--db", url, "watch", "--statusline")
    assert code == 0
    assert out.rstrip().endswith(
        "claude-pro messages-5h: 0% | claude-pro messages-day: 15% | chatgpt-plus 5h: 62%"
    )
