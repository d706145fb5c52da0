"""`costwarden tiers add/set/remove`: tiers stored in the database, seen by every read of tiers (list,
classify, prices, another process), the config file winning on the ids it names."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.views.prices import PriceQuery, price_view
from costwarden.views.tiers import tier_of, tiers_view
from costwarden.warden import Warden


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], db: str, config: Path | None = None) -> None:
        self.capsys, self.db, self.config = capsys, db, config

    def __call__(self, *args: str) -> tuple[int, str, str]:
        head = ["--db", self.db] + (["--config", str(self.config)] if self.config else [])
        self.capsys.readouterr()
        code = main([*head, *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def tiers(self) -> list[tuple[str, str, str | None, str]]:
        code, out, err = self("tiers", "list", "--json")
        assert code == 0, err
        return [(t["id"], t["price_range_min"], t["price_range_max"], t["origin"]) for t in json.loads(out)]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> Cli:
    return Cli(capsys, sqlite_url)


def test_tiers_set_from_the_cli_are_stored_and_classify_models(cli: Cli, sqlite_url: str) -> None:
    assert cli("tiers", "set", "medium", "--max", "2.5") == (
        0,
        "Changed tier 'medium': Medium, $1 to $2.5 per MTok.\n",
        "",
    )
    code, out, _ = cli("tiers", "add", "mid", "--min", "2.5", "--max", "5", "--name", "Mid", "--icon", "$$+")
    assert (code, out) == (0, "Added tier 'mid': Mid, $2.5 to $5 per MTok.\n")
    assert cli("tiers", "remove", "premium")[:2] == (0, "Removed tier 'premium'.\n")
    assert (
        cli("tiers", "set", "high", "--max", "none")[1] == "Changed tier 'high': High, $5 and up per MTok.\n"
    )
    assert cli.tiers() == [
        ("low", "0.00", "1.00", "builtin"),
        ("medium", "1.00", "2.50", "cli"),
        ("mid", "2.50", "5.00", "cli"),
        ("high", "5.00", None, "cli"),
    ]
    # gpt-5: (3 * 1.25 + 10) / 4 = 3.4375 per MTok blended -> mid; claude-haiku-4-5: (3 + 5) / 4 = 2 -> medium
    assert cli("tiers", "classify", "gpt-5")[1] == "openai/gpt-5: mid (blended $3.4375 per MTok)\n"
    assert cli("tiers", "classify", "claude-haiku-4-5")[1].split(": ")[1].startswith("medium")
    assert json.loads(cli("prices", "show", "claude-opus-4-1", "--json")[1])["cost_tier"] == "high"

    # another process on the database: the views read the same tiers
    with Warden(load_settings(database=sqlite_url)) as warden:
        assert [t.id for t in tiers_view(warden).tiers] == ["low", "medium", "mid", "high"]
        found = tier_of(warden, "gpt-5")
        assert found is not None and found.tier == "mid"
        priced = price_view(warden, PriceQuery("gpt-5"))
        assert priced is not None and priced.cost_tier == "mid"

    # `add` brings back a built-in tier removed here; `remove` forgets a tier added here
    assert cli("tiers", "set", "high", "--max", "15")[0] == 0
    assert cli("tiers", "add", "premium")[1] == "Added tier 'premium': Premium, $15 and up per MTok.\n"
    assert cli("tiers", "remove", "mid")[0] == 0
    assert [t[0] for t in cli.tiers()] == ["low", "medium", "high", "premium"]


def test_a_running_warden_sees_tiers_changed_by_another_process(
    cli: Cli, sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("admission: {refresh: 0.001}\n", encoding="utf-8")
    clock = FixedClock(datetime(2026, 11, 23, tzinfo=UTC))
    with Warden(load_settings(config, database=sqlite_url), clock=clock) as warden:
        rates = warden.pricebook.rates("openai", "gpt-5", clock.now())
        assert rates is not None and warden.tiers.classify(rates) == "medium"
        assert cli("tiers", "set", "medium", "--max", "3")[0] == 0
        assert cli("tiers", "set", "high", "--min", "3")[0] == 0
        assert warden.tiers.classify(rates) == "high"


def test_edits_that_leave_the_tiers_invalid_store_nothing(cli: Cli) -> None:
    before = cli.tiers()
    code, _, err = cli("tiers", "add", "free", "--min", "0", "--max", "0.01")
    assert code == 1
    assert err == "costwarden: tiers 'free' ($0 to $0.01 per MTok) and 'low' ($0 to $1 per MTok) overlap\n"
    assert cli("tiers", "add", "cheap", "--max", "1")[2] == (
        "costwarden: new tier 'cheap' needs --min (its price_range_min)\n"
    )
    assert cli("tiers", "add", "low", "--min", "0")[2] == (
        "costwarden: tier 'low' exists; change it with `costwarden tiers set low`\n"
    )
    code, _, err = cli("tiers", "set", "low", "--min", "-1")
    assert code == 1 and err.startswith("costwarden: tier 'low': --min: ")
    assert cli("tiers", "set", "low")[2] == (
        "costwarden: give at least one field to change (--name, --min, --max, ...)\n"
    )
    for tier in ("premium", "high", "medium"):
        assert cli("tiers", "remove", tier)[0] == 0
    assert cli("tiers", "remove", "low") == (
        1,
        "",
        "costwarden: no tiers left: keep or define at least one\n",
    )
    assert cli("tiers", "remove", "nope") == (2, "", "costwarden: no tier 'nope' (known: low)\n")
    assert cli("tiers", "set", "nope", "--icon", "x")[0] == 2
    assert [t[0] for t in cli.tiers()] == ["low"]
    assert len(before) == 4


def test_the_config_file_wins_on_the_tiers_it_names(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        """\
tiers:
  remove: [premium]
  definitions:
    - {id: high, price_range_max: null, icon: H}
providers:
  - {name: anthropic, models: [claude-haiku-4-5], cost_tier: medium}
""",
        encoding="utf-8",
    )
    cli = Cli(capsys, sqlite_url, config)
    code, out, err = cli("tiers", "set", "high", "--icon", "X")
    assert code == 0
    assert out == "Changed tier 'high': High, $5 and up per MTok.\n"
    assert err == f"Note: {config} also defines tier 'high'; the config file wins while it does.\n"
    code, out, err = cli("tiers", "list")
    assert "H " in out or "│ H" in out
    assert err == f"Note: {config} overrides tier 'high' set from the CLI.\n"
    assert ("high", "5.00", None, "config") in cli.tiers()

    assert cli("tiers", "remove", "high")[2] == (
        f"costwarden: tier 'high' comes from {config} (tiers:); remove it there\n"
    )
    assert cli("tiers", "add", "premium", "--min", "15")[2] == (
        f"costwarden: {config} defines or removes tier 'premium'; change it there\n"
    )
    assert cli("tiers", "remove", "medium") == (
        1,
        "",
        f"costwarden: {config}: providers[0].cost_tier names tier 'medium'; change that first\n",
    )
    # without the config file, the tier set from the CLI is in force
    assert ("high", "5.00", "15.00", "cli") in Cli(capsys, sqlite_url).tiers()  # only the icon was set
