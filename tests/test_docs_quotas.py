"""docs/quotas.md: every config example is a valid config whose report runs, its Python examples run as
written, its commands run, and every key of a plan and a window is documented."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from costwarden.cli import main
from costwarden.cli.quota import quota_app
from costwarden.config import settings_from_mapping
from costwarden.quotas.alerts import UtilizationAlertsConfig
from costwarden.quotas.exhaustion import QuotaRoutingConfig
from costwarden.quotas.plans import SubscriptionConfig, WindowConfig
from costwarden.quotas.pollers import PollerConfig
from costwarden.quotas.presets import PRESETS
from costwarden.quotas.rate_limits import RateLimitConfig

DOC = Path(__file__).resolve().parent.parent / "docs" / "quotas.md"
TEXT = DOC.read_text(encoding="utf-8")
YAML = re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S)
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
SHELL = [
    line[2:]
    for block in re.findall(r"```console\n(.*?)```", TEXT, flags=re.S)
    for line in block.splitlines()
    if line.startswith("$ ")
]


@pytest.mark.parametrize("index", range(len(YAML)))
def test_config_example_is_valid_and_reports(
    index: int, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(YAML[index])
    settings = settings_from_mapping(data)
    assert settings.subscriptions or settings.rate_limits
    config = tmp_path / "config.yaml"
    config.write_text(YAML[index], encoding="utf-8")
    assert main(["--config", str(config), "--db", sqlite_url, "db", "upgrade"]) == 0
    assert main(["--config", str(config), "--db", sqlite_url, "quota", "report"]) == 0
    assert main(["--config", str(config), "--db", sqlite_url, "quota", "status", "--json"]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out[out.index('{\n  "schema"') :])
    assert [p["provider"] for p in payload["plans"]] == [p.provider for p in settings.subscriptions]


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_python_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(PYTHON[index], f"{DOC}:block{index}", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    for expected in re.findall(r"^\s*print\(.*\)\s+# (.+)$", PYTHON[index], flags=re.M):
        assert expected in out, (expected, out)


def test_shell_session_runs(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(YAML[0], encoding="utf-8")
    assert len(SHELL) >= 4
    assert main(["--config", str(config), "--db", sqlite_url, "db", "upgrade"]) == 0
    for line in SHELL:
        args = shlex.split(line)
        assert args[0] == "costwarden"
        code = main(["--config", str(config), "--db", sqlite_url, *args[1:]])
        out, err = capsys.readouterr()
        assert code == 0, (line, out, err)


@pytest.mark.parametrize(
    "model",
    [
        SubscriptionConfig,
        WindowConfig,
        RateLimitConfig,
        PollerConfig,
        UtilizationAlertsConfig,
        QuotaRoutingConfig,
    ],
)
def test_every_config_key_is_documented(model: type[BaseModel]) -> None:
    missing = [name for name in model.model_fields if f"| `{name}` |" not in TEXT]
    assert not missing, f"{model.__name__}: {missing}"


def test_every_preset_and_command_is_documented() -> None:
    for name in PRESETS:
        assert f"| `{name}` |" in TEXT, name
    for command in quota_app.registered_commands:
        assert f"`quota {command.name}" in TEXT, command.name
