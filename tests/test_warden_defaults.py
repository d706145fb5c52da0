"""`Warden()` with no arguments is `Warden.from_config()`: the database and config the CLI would use, and so
the budgets `costwarden budget set` stored; every explicit argument overrides its own part only."""

from __future__ import annotations

from pathlib import Path

import pytest

from costwarden import Attribution, BudgetExceeded, CallRequest, Settings, Warden
from costwarden.cli import main
from costwarden.config import CONFIG_ENV, DATABASE_ENV, user_config_dir
from costwarden.ledger import MemoryLedger


def _request() -> CallRequest:
    return CallRequest(
        provider="openai",
        model="gpt-5",
        input_tokens=1_000,
        max_tokens=100,
        attribution=Attribution(project="web"),
    )


def _budget_ids(warden: Warden) -> set[str]:
    engine = warden.budgets
    assert engine is not None
    return {p.id for p in engine.policies.policies}  # type: ignore[attr-defined]


def test_the_database_comes_from_the_environment(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DATABASE_ENV, sqlite_url)
    with Warden() as warden:
        assert warden.settings.database == sqlite_url
        warden.record(provider="openai", model="gpt-5", input_tokens=1_000_000, project="web", id="e1")
    assert main(["report", "--json", "--from", "2000-01-01"]) == 0
    assert '"events": 1' in capsys.readouterr().out


def test_budgets_set_from_the_cli_apply(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DATABASE_ENV, sqlite_url)
    assert main(["budget", "set", "--daily", "0.0001", "--project", "web"]) == 0
    capsys.readouterr()
    with Warden() as warden:
        assert "project-web-daily" in _budget_ids(warden)
        with pytest.raises(BudgetExceeded):
            warden.admit(_request())


def test_the_config_file_named_by_the_environment_is_read(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "team.yaml"
    config.write_text(
        f"database: {sqlite_url}\ntimezone: Europe/Berlin\n"
        "budgets:\n  - {id: tiny, period: day, cost_usd: 0.0001}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(CONFIG_ENV, str(config))
    with Warden() as warden, Warden.from_config() as loaded:
        assert warden.settings == loaded.settings
        assert warden.settings.timezone == "Europe/Berlin"
        assert warden.settings.database == sqlite_url
        assert _budget_ids(warden) == {"tiny"}
        with pytest.raises(BudgetExceeded):
            warden.admit(_request())


def test_the_user_config_file_is_read(sqlite_url: str) -> None:
    folder = user_config_dir()
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(
        f"database: {sqlite_url}\nbudgets:\n  - {{id: mine, period: month, cost_usd: 5}}\n", encoding="utf-8"
    )
    with Warden() as warden:
        assert warden.settings.database == sqlite_url
        assert _budget_ids(warden) == {"mine"}


def test_without_anything_the_default_database_is_the_clis(tmp_path: Path) -> None:
    with Warden() as warden, Warden.from_config() as loaded:
        assert warden.settings.database == loaded.settings.database
        assert warden.settings.database is not None
        assert warden.settings.database.endswith("costwarden.db")


def test_explicit_arguments_override_their_part_only(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "team.yaml"
    config.write_text(
        "timezone: Europe/Berlin\nbudgets:\n  - {id: tiny, period: day, cost_usd: 0.0001}\n", encoding="utf-8"
    )
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.setenv(DATABASE_ENV, sqlite_url)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with Warden(database=other) as warden:  # the database only: the config's budgets still apply
        assert warden.settings.database == other
        assert warden.settings.timezone == "Europe/Berlin"
        assert _budget_ids(warden) == {"tiny"}
    with Warden(Settings()) as warden:  # explicit settings: no config file, the database as the CLI's
        assert warden.settings.timezone == "UTC"
        assert warden.settings.budgets == []
        assert warden.settings.database == sqlite_url
    with Warden(Settings(database=other)) as warden:
        assert warden.settings.database == other
    ledger = MemoryLedger()
    with Warden(ledger=ledger) as warden:  # the ledger only: the config's budgets still apply
        assert warden.ledger is ledger
        assert warden.settings.timezone == "Europe/Berlin"
        assert _budget_ids(warden) == {"tiny"}
