"""docs/api.md: every curl example runs against a real server (in the order written, exit 0, HTTP status
below 400), and every endpoint of the OpenAPI schema has an example."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from costwarden.config import Settings
from costwarden.warden import Warden
from server.conftest import running

DOC = Path(__file__).parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def _blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def _calls() -> list[tuple[str, str]]:
    """(method, path) of every curl of the examples."""
    calls: list[tuple[str, str]] = []
    for block in _blocks():
        for command in re.split(r"\n(?=\S)|\|", block.replace("\\\n", " ")):
            starts = (
                "curl",
                "cursor=$(curl",
                "new_key=$(curl",
                "alert_id=$(curl",
                "insight_id=$(curl",
                "admission=$(curl",
            )
            if not command.strip().startswith(starts):
                continue
            url = re.search(r'"\$COSTWARDEN_URL(/[^"?]*)', command)
            assert url is not None, command
            method = re.search(r"-X (\w+)", command)
            verb = method.group(1) if method else ("POST" if " -d " in command else "GET")
            calls.append((verb, url.group(1)))
    return calls


def test_every_endpoint_has_an_example() -> None:
    from costwarden.server.openapi import openapi_schema

    calls = _calls()
    missing = []
    for path, methods in openapi_schema()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        for method in methods:
            if not any(verb == method.upper() and pattern.match(url) for verb, url in calls):
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"docs/api.md has no curl example of: {', '.join(missing)}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_examples_run_against_a_server(sqlite_url: str, tmp_path: Path) -> None:
    watch = {"id": "watch", "period": "month", "cost_usd": "0.001", "action": "warn"}
    with Warden(Settings(database=sqlite_url, budgets=[watch])) as warden, running(warden) as served:
        for i in range(3):  # over the `watch` budget: alerts to read and acknowledge
            warden.record(
                id=f"seed-{i}",
                provider="openai",
                model="gpt-4o",
                input_tokens=100,
                project="web",
                session="s-42",
            )
        for i in range(20):  # a flaky agent (6 of 20 calls fail after using input): an insight to dismiss
            warden.record(
                id=f"flaky-{i}",
                provider="openai",
                model="gpt-4o",
                agent="flaky",
                input_tokens=2_000,
                output_tokens=1_500 if i % 10 >= 3 else 0,
                status="error" if i % 10 < 3 else "ok",
            )
        admin = served.key("admin")
        script = tmp_path / "examples.sh"
        script.write_text(
            "set -euo pipefail\n" + "\n".join(f"{block}\necho\necho '-- ok'" for block in _blocks()),
            encoding="utf-8",
        )
        env = {**os.environ, "COSTWARDEN_URL": served.url, "KEY": admin}
        done = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, env=env, timeout=240, check=False
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert done.stdout.count("-- ok") == len(_blocks())
        stored = warden.ledger.get("call-1")
        assert stored is not None and stored.attribution.session == "s-42"
        assert warden.ledger.get("call-2") is not None and warden.ledger.get("call-3") is None
