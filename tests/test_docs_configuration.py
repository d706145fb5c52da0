"""The examples in docs/configuration.md and README.md load as documented."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.config import load_settings

ROOT = Path(__file__).resolve().parents[1]


def yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_configuration_example_loads(tmp_path: Path) -> None:
    (block,) = yaml_blocks(ROOT / "docs" / "configuration.md")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(block)
    settings = load_settings(cfg)
    assert settings.timezone == "Europe/Berlin"
    assert settings.estimation.default_max_tokens == 8192
    assert settings.retention.detailed_days == 30
    from costwarden.pricing.tiers import TierBook

    assert [t.id for t in TierBook(settings.tiers).all()][:2] == ["bargain", "low"]


def test_readme_example_loads(tmp_path: Path) -> None:
    blocks = yaml_blocks(ROOT / "README.md")
    assert blocks
    for i, block in enumerate(blocks):
        cfg = tmp_path / f"r{i}.yaml"
        cfg.write_text(block)
        load_settings(cfg)


def test_dialect_example_loads_and_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml dialect\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(block, encoding="utf-8")
    settings = load_settings("config.yaml")
    assert [b.id for b in settings.budgets] == [
        "limits-global-day",
        "limits-global-concurrent",
        "limits-project-day",
    ]
    assert settings.budgets[2].overrides["my-arpg"].cost_usd == 30
    (line,) = [ln for ln in re.findall(r"```sh\n(.*?)```", text, flags=re.S)[0].splitlines() if ln]
    assert main(shlex.split(line)[1:]) == 0
    assert "limits.global.max_cost_per_day" in capsys.readouterr().out
    assert load_settings("costwarden.yaml").budgets == settings.budgets


def test_tier_commands_run_as_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```sh tiers\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'costs.db'}"
    for line in block.splitlines():
        assert main(["--db", db, *shlex.split(line)[1:]]) == 0, line
    capsys.readouterr()
    assert main(["--db", db, "tiers", "list", "--json"]) == 0
    tiers = json.loads(capsys.readouterr().out)
    assert [(t["id"], t["price_range_min"], t["price_range_max"], t["origin"]) for t in tiers] == [
        ("free", "0.00", "0.01", "cli"),
        ("low", "0.01", "1.00", "cli"),
        ("medium", "1.00", "5.00", "builtin"),
        ("high", "5.00", None, "cli"),
    ]
