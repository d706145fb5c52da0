"""docs/statusline.md and the README: the `~/.claude/settings.json` snippet is valid JSON and its command
runs as Claude Code runs it (a shell, the statusline JSON on stdin); the documented templates run; every
template field is documented."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.statusline.render import FIELDS
from costwarden.testing.agent_logs import claude_assistant, write

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "statusline.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTINGS = [
    block
    for text in (DOC, README)
    for block in re.findall(r"```json\n(.*?)```", text, flags=re.S)
    if "statusLine" in block
]
SHELL = [
    line[2:]
    for block in re.findall(r"```console\n(.*?)```", DOC, flags=re.S)
    for line in block.splitlines()
    if line.startswith("$ ")
]


def test_both_documents_give_the_settings_snippet() -> None:
    assert len(SETTINGS) == 2
    assert "docs/statusline.md" in README


@pytest.mark.parametrize("index", range(len(SETTINGS)))
def test_settings_snippet_is_json_and_its_command_runs(index: int, tmp_path: Path, sqlite_url: str) -> None:
    settings = json.loads(SETTINGS[index])
    line = settings["statusLine"]
    assert line["type"] == "command"
    transcript = write(
        tmp_path / "projects" / "-home-dev-shop" / "s-docs.jsonl",
        [claude_assistant(message_id="msg_1", request_id="req_1", at="2026-11-20T10:00:00Z", output=300)],
    )
    stdin = json.dumps(
        {
            "session_id": "5f0c1c9e-sess",
            "transcript_path": str(transcript),
            "cwd": "/home/dev/shop",
            "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"},
            "workspace": {"current_dir": "/home/dev/shop", "project_dir": "/home/dev/shop"},
            "version": "2.1.80",
            "cost": {"total_cost_usd": 0.01},
        }
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COSTWARDEN_DATABASE_URL": sqlite_url,
        "COSTWARDEN_NOW": "2026-11-20T12:00:00Z",
    }
    done = subprocess.run(
        line["command"],
        shell=True,
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert "Sonnet 4.5" in done.stdout and "session $0.01" in done.stdout


def test_documented_templates_run(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(SHELL) >= 3
    for line in SHELL:
        args = shlex.split(line)
        assert args[0] == "costwarden"
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        code = main(["--db", sqlite_url, *args[1:]])
        out, err = capsys.readouterr()
        assert code == 0, (line, err)
        assert out.count("\n") == 1


def test_every_template_field_is_documented() -> None:
    documented = re.findall(r"^\| `\{(\w+)\}` \|", DOC, flags=re.M)
    assert documented == list(FIELDS)


def test_subscription_windows_example_prints_what_it_shows(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from costwarden.config import load_settings
    from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow
    from costwarden.warden import Warden

    section = DOC.split("## Subscription windows", 1)[1].split("\n## ", 1)[0]
    (config,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    ((command, shown),) = [
        block.splitlines()[:2] for block in re.findall(r"```console\n(.*?)```", section, flags=re.S)
    ]
    path = tmp_path / "costwarden.yaml"
    path.write_text(config, encoding="utf-8")
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    monkeypatch.setenv("COSTWARDEN_NOW", now.isoformat())
    with Warden(load_settings(path, database=sqlite_url)) as warden:
        for minute in range(7):  # 7 Claude Code requests in the last five hours
            warden.record(
                provider="anthropic",
                model="claude-sonnet-4-5",
                input_tokens=100,
                output_tokens=10,
                agent="claude-code",
                occurred_at=now - timedelta(hours=1, minutes=minute),
            )
        reset = now + timedelta(hours=2)
        windows = {
            "unified-5h": QuotaWindow("unified-5h", utilization=0.42, reset_at=reset),
            "unified-7d": QuotaWindow("unified-7d", utilization=0.18, reset_at=reset + timedelta(days=3)),
        }
        warden.quotas.record(QuotaSnapshot("anthropic", now - timedelta(minutes=3), windows))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    args = shlex.split(command.removeprefix("$ "))
    assert main(["--db", sqlite_url, "--config", str(path), *args[1:]]) == 0
    assert capsys.readouterr().out == shown + "\n"
