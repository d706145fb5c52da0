"""The examples in docs/configuration.md and README.md load as documented."""

from __future__ import annotations

import re
from pathlib import Path

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
