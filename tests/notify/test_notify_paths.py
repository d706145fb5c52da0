"""Alerts are raised and sent the same way whichever way the spend came in: a wrapped SDK client, an import
of an agent's logs, the CLI. Each crossing is one alert, sent once, by the process that noticed it."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import yaml

from costwarden import Warden
from costwarden.cli import main
from costwarden.clock import SYSTEM_CLOCK
from costwarden.config import load_settings
from costwarden.notify import new_secret
from costwarden.testing import FakeProvider, Reply
from costwarden.testing.agent_logs import claude_assistant, write
from costwarden.testing.webhooks import WebhookReceiver


def test_wrapper_import_and_cli_raise_alerts_alike(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = new_secret()
    with WebhookReceiver(secret=secret) as hook, FakeProvider() as fake:
        config = tmp_path / "costwarden.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "budgets": [{"id": "monthly", "period": "month", "cost_usd": 1}],
                    "alerts": {
                        "channels": [{"type": "webhook", "url": hook.url, "secret": secret, "level": "info"}]
                    },
                }
            ),
            encoding="utf-8",
        )
        # a wrapped client: $0.50 (gpt-4o, 200,000 input tokens) crosses 50 %
        fake.enqueue(Reply(input_tokens=200_000, output_tokens=0))
        with Warden(load_settings(config, database=sqlite_url)) as warden:
            client = warden.wrap(openai.OpenAI(**fake.client_kwargs("openai")), project="shop")
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=10
            )
        assert [a["data"]["threshold"] for a in hook.alerts] == ["50"]  # sent at once, waited for on close
        # an import of Claude Code's logs: about $0.31 more crosses 80 %
        now = SYSTEM_CLOCK.now().isoformat().replace("+00:00", "Z")
        logs = tmp_path / "claude"
        write(
            logs / "projects" / "-home-dev-shop" / "s1.jsonl",
            [
                claude_assistant(
                    message_id="msg_1", request_id="req_1", at=now, output=1, input_tokens=100_000
                )
            ],
        )
        base = ["--db", sqlite_url, "--config", str(config)]
        assert main([*base, "import", "claude-code", str(logs)]) == 0
        assert [a["data"]["threshold"] for a in hook.alerts] == ["50", "80"]
        # the CLI: $0.20 more crosses 95 %
        args = ["record", "--provider", "openai", "--model", "gpt-4o", "--input-tokens", "80000"]
        assert main([*base, *args]) == 0
        assert main([*base, "import", "claude-code", str(logs)]) == 0  # nothing new: no alert
        capsys.readouterr()
        assert [a["data"]["threshold"] for a in hook.alerts] == ["50", "80", "95"]
        assert len(hook.requests) == 3 and all(r.verified for r in hook.requests)
        # $0.50 + $0.309825 (100,000 input, 20,000 cache reads, 1,000 5m writes, 1 output) + $0.20
        assert hook.alerts[2]["data"]["message"].endswith("reached 95% of its $1.00 limit: $1.0098 spent")
