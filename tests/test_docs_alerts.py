"""docs/alerts.md: its Python examples run as written, its shell session runs against a local receiver, and
every channel key, `alerts.smtp` and `alerts.delivery` key and `alert` command is documented."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from pydantic import BaseModel

from costwarden.cli import main
from costwarden.cli.alert import alert_app
from costwarden.core.channels import (
    DeliveryConfig,
    EmailChannelConfig,
    LogChannelConfig,
    SlackChannelConfig,
    SmtpConfig,
    WebhookChannelConfig,
)
from costwarden.testing.webhooks import WebhookReceiver

DOC = Path(__file__).resolve().parent.parent / "docs" / "alerts.md"
TEXT = DOC.read_text(encoding="utf-8")
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
SHELL = [
    line[2:]
    for block in re.findall(r"```console\n(.*?)```", TEXT, flags=re.S)
    for line in block.splitlines()
    if line.startswith("$ ")
]
EXAMPLE_HOOK = "https://hooks.example.com/costwarden"


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_python_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(PYTHON[index], f"{DOC}:block{index}", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    for expected in re.findall(r"^\s*print\(.*\)\s+# (.+)$", PYTHON[index], flags=re.M):
        assert expected in out, (expected, out)


def test_shell_session_runs(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(SHELL) >= 10
    with WebhookReceiver() as hook:
        for line in SHELL:
            args = shlex.split(line.replace(EXAMPLE_HOOK, hook.url))
            assert args[0] == "costwarden"
            code = main(["--db", sqlite_url, *args[1:]])
            out, err = capsys.readouterr()
            assert code == 0, (line, out, err)
        kinds = [request.json()["type"] for request in hook.requests]
        assert kinds == ["costwarden.alert.threshold", "costwarden.alert.test"]


@pytest.mark.parametrize(
    "model",
    [
        WebhookChannelConfig,
        SlackChannelConfig,
        EmailChannelConfig,
        LogChannelConfig,
        SmtpConfig,
        DeliveryConfig,
    ],
)
def test_every_config_key_is_documented(model: type[BaseModel]) -> None:
    names = [field.alias or name for name, field in model.model_fields.items()]
    missing = [name for name in names if f"`{name}`" not in TEXT]
    assert not missing, f"{model.__name__}: {missing}"


def test_every_command_is_documented() -> None:
    for command in alert_app.registered_commands:
        assert f"`alert {command.name}" in TEXT, command.name
