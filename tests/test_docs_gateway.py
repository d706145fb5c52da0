"""docs/gateway.md: every client example runs against a gateway in front of the fake provider: the OpenAI
and Anthropic SDK snippets, curl, Claude Code (`claude -p`, with the settings.json snippet too) and Codex
(`codex exec` with the config.toml snippet). Each call is one event, attributed by the documented headers.

Claude Code and Codex are the npm packages `@anthropic-ai/claude-code` and `@openai/codex` (`.ci/run`
installs them); without them those tests are skipped, and fail under CI=true."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from costwarden.core.usage import UsageEvent
from costwarden.gateway.config import GatewayConfig
from costwarden.gateway.server import GatewayThread
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider
from costwarden.warden import Warden

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "gateway.md").read_text(encoding="utf-8")
ADDRESS = "http://127.0.0.1:4000"
HELLO = "Hello from the fake provider."


def _blocks(language: str, heading: str) -> list[str]:
    section = DOC.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def _agent(name: str) -> str:
    """The agent's executable: on PATH, or where `.ci/run` installs it."""
    found = shutil.which(name) or shutil.which(
        name, path=str(ROOT / ".ci" / "agents" / "node_modules" / ".bin")
    )
    if found is None:
        message = f"{name} is not installed (npm install @anthropic-ai/claude-code @openai/codex)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class Served:
    def __init__(self, gateway: GatewayThread, warden: Warden) -> None:
        self.gateway = gateway
        self.warden = warden

    def text(self, block: str) -> str:
        return block.replace(ADDRESS, self.gateway.base_url)

    def events(self, count: int) -> list[UsageEvent]:
        import time

        deadline = time.monotonic() + 10
        while True:
            events = list(self.warden.ledger.events())
            if len(events) >= count or time.monotonic() > deadline:
                return events
            time.sleep(0.01)


@pytest.fixture
def served() -> Iterator[Served]:
    with FakeProvider() as fake, Warden(ledger=MemoryLedger()) as warden:
        config = GatewayConfig.model_validate(
            {
                "upstreams": [  # no keys: the clients' own credentials pass through
                    {"name": "openai", "api": "openai", "base_url": fake.openai_base_url},
                    {"name": "anthropic", "api": "anthropic", "base_url": fake.base_url},
                ]
            }
        )
        with GatewayThread(warden, config) as gateway:
            yield Served(gateway, warden)


def _run_python(block: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "docs/gateway.md", "exec"), {})
    return out.getvalue()


def test_openai_sdk_example(served: Served) -> None:
    (block,) = _blocks("python", "The OpenAI SDK")
    out = _run_python(served.text(block))
    assert out.count(HELLO) == 2  # the plain reply and the streamed one
    events = served.events(2)
    assert len(events) == 2
    assert {(e.attribution.project, e.attribution.agent) for e in events} == {("shop", "triage")}


def test_anthropic_sdk_example(served: Served) -> None:
    (block,) = _blocks("python", "The Anthropic SDK")
    assert _run_python(served.text(block)).strip() == HELLO
    (event,) = served.events(1)
    assert (event.provider, event.model) == ("anthropic", "claude-sonnet-4-5")
    assert event.attribution.project == "shop"


def test_curl_examples(served: Served) -> None:
    (block,) = _blocks("bash", "curl")
    result = subprocess.run(
        ["bash", "-c", served.text(block)], capture_output=True, text=True, timeout=60, check=True
    )
    chat, message, models = [json.loads(line) for line in result.stdout.replace("}{", "}\n{").splitlines()]
    assert chat["choices"][0]["message"]["content"] == HELLO
    assert message["content"][0]["text"] == HELLO
    assert models == {"object": "list", "data": []}
    events = served.events(2)
    assert [(e.provider, e.attribution.project) for e in events] == [("openai", "shop"), ("anthropic", None)]


def _agent_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "CODEX_"))}
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    env["DISABLE_AUTOUPDATER"] = "1"
    env["HOME"] = str(tmp)
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=240, cwd=cwd, check=False)


@pytest.mark.slow
def test_claude_code_examples(served: Served, tmp_path: Path) -> None:
    claude = _agent("claude")
    command, settings = _blocks("bash", "Claude Code")[0], _blocks("json", "Claude Code")[0]
    env = _agent_env(tmp_path)
    env["PATH"] = f"{Path(claude).parent}{os.pathsep}{env.get('PATH', '')}"
    result = _run(["bash", "-c", served.text(command)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert HELLO in result.stdout
    first = served.events(1)
    assert first and all(e.provider == "anthropic" and e.status == "ok" for e in first)
    # the settings.json snippet: the base URL and the attribution headers for every session
    (tmp_path / ".claude").mkdir(exist_ok=True)
    (tmp_path / ".claude" / "settings.json").write_text(served.text(settings))
    env["ANTHROPIC_API_KEY"] = "sk-ant-any"
    result = _run([claude, "-p", "Say hi"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert HELLO in result.stdout
    events = served.events(len(first) + 1)
    later = events[len(first) :]
    assert later
    assert all((e.attribution.project, e.attribution.agent) == ("shop", "claude-code") for e in later)


@pytest.mark.slow
def test_codex_example(served: Served, tmp_path: Path) -> None:
    codex = _agent("codex")
    (config,) = _blocks("toml", "Codex")
    (command,) = _blocks("bash", "Codex")
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(served.text(config))
    env = _agent_env(tmp_path)
    env["CODEX_HOME"] = str(home)
    env["PATH"] = f"{Path(codex).parent}{os.pathsep}{env.get('PATH', '')}"
    result = _run(["bash", "-c", command], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert HELLO in result.stdout
    events = served.events(1)
    assert events and all(e.provider == "openai" and e.model == "gpt-5" for e in events)
    assert all((e.attribution.project, e.attribution.agent) == ("shop", "codex") for e in events)


@pytest.mark.parametrize("index", range(len(re.findall(r"```yaml\n", DOC))))
def test_config_examples_are_valid(index: int) -> None:
    import yaml

    from costwarden.config import settings_from_mapping
    from costwarden.gateway.routes import Router

    block = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)[index]
    settings = settings_from_mapping(yaml.safe_load(block), "docs/gateway.md")
    router = Router(settings.gateway)
    for alias in settings.gateway.aliases:
        router.resolve(alias, "anthropic")  # every alias names a served model


def test_virtual_key_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import openai

    pytest.importorskip("costwarden.access")  # the key store (costwarden serve's)

    from costwarden.cli import main

    (block,) = _blocks("bash", "Virtual keys")
    command = block.splitlines()[0].split()
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert command[0] == "costwarden"
    assert main(["--db", database, *command[1:], "--json"]) == 0
    secret = json.loads(capsys.readouterr().out)["secret"]
    with (
        FakeProvider() as fake,
        Warden(database=database) as warden,
        GatewayThread(
            warden,
            GatewayConfig.model_validate(
                {"upstreams": [{"name": "openai", "api": "openai", "base_url": fake.openai_base_url}]}
            ),
        ) as gateway,
        openai.OpenAI(base_url=gateway.openai_base_url, api_key=secret, max_retries=0) as client,
    ):
        client.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}])
        assert secret not in str(fake.requests[-1].headers)
        served = Served(gateway, warden)
        (event,) = served.events(1)
    assert (event.attribution.project, event.attribution.agent) == ("shop", "triage")
