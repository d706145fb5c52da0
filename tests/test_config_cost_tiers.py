"""A provider's `cost_tier` (and a model's) must name a tier of the config: built in, or defined under
`tiers.definitions`. A tier removed by `tiers.remove` is no longer known."""

from __future__ import annotations

from pathlib import Path

import pytest

from costwarden import ConfigError
from costwarden.cli import main
from costwarden.config import load_settings, settings_from_mapping


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_provider_tier_is_refused_with_file_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
tiers:
  remove: [premium]
providers:
  - {name: anthropic, models: [claude-haiku-4-5], cost_tier: low}
  - {name: openai, models: [gpt-4o], cost_tier: premium}
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: providers[1].cost_tier: no tier 'premium' (known: low, medium, high); "
        "define it under tiers.definitions"
    )


def test_an_unknown_model_tier_names_the_model_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
providers:
  - name: anthropic
    models: [claude-haiku-4-5, {name: claude-opus-4-1, cost_tier: ultra}]
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: providers[0].models[1].cost_tier: no tier 'ultra' (known: ")
    assert "low, medium, high, premium" in message


def test_built_in_and_defined_tiers_are_accepted() -> None:
    settings = settings_from_mapping(
        {
            "tiers": {"definitions": [{"id": "free", "price_range_min": 0, "price_range_max": 0}]},
            "providers": [
                {"name": "ollama", "kind": "local", "models": ["llama3"], "cost_tier": "free"},
                {"name": "anthropic", "models": [{"name": "claude-opus-4-1", "cost_tier": "premium"}]},
            ],
        }
    )
    assert [p.cost_tier for p in settings.providers] == ["free", None]
    assert settings.providers[1].models[0].cost_tier == "premium"


def test_the_cli_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "providers:\n  - {name: anthropic, models: [claude-haiku-4-5], cost_tier: x}\n")
    code = main(["--config", str(path), "--db", f"sqlite:///{tmp_path / 'c.db'}", "tiers", "list"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: providers[0].cost_tier: no tier 'x'" in err


def test_a_fallback_to_a_tier_names_a_tier_of_the_providers(tmp_path: Path) -> None:
    providers = [
        {"name": "anthropic", "models": ["claude-sonnet-4-5"], "cost_tier": "high"},
        {"name": "openai", "models": [{"name": "gpt-5-mini", "cost_tier": "low"}, "gpt-5"]},
    ]
    budget = {"id": "b", "period": "day", "cost_usd": 1, "action": "fallback", "fallback": ["tier:low"]}
    settings = settings_from_mapping({"providers": providers, "budgets": [budget]})
    assert settings.budgets[0].fallback == ["tier:low"]
    path = tmp_path / "c.yaml"
    import yaml

    budget["fallback"] = ["local", "tier:medium"]
    path.write_text(yaml.safe_dump({"providers": providers, "budgets": [budget]}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: budgets[0].fallback[1]: fallback 'tier:medium' names a tier no provider or model under "
        "`providers:` has as its cost_tier (named: high, low)"
    )
