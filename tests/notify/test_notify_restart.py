"""A deliverer process killed while the receiver is down, then started again once it is up: every alert
arrives exactly once (`costwarden alert deliver --watch` in real processes, `kill -9` in between)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from costwarden import Warden
from costwarden.config import load_settings
from costwarden.notify import new_secret
from costwarden.testing.webhooks import WebhookReceiver

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("COSTWARDEN_", "PYTEST_"))}


def _deliverer(config: Path, db: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "costwarden", "--db", db, "--config", str(config)]
    return subprocess.Popen(
        [*command, "alert", "deliver", "--watch", "--poll", "0.1"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_deliverer_restarts_and_every_alert_arrives_once(tmp_path: Path, sqlite_url: str) -> None:
    secret = new_secret()
    processes: list[subprocess.Popen[str]] = []
    with WebhookReceiver(secret=secret) as hook:
        config = tmp_path / "costwarden.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "budgets": [
                        {
                            "id": "monthly",
                            "period": "month",
                            "cost_usd": 1,
                            "thresholds": list(range(10, 100, 10)),
                        }
                    ],
                    "alerts": {
                        "channels": [{"type": "webhook", "url": hook.url, "secret": secret, "level": "info"}],
                        "delivery": {"initial_backoff": "0.1s", "max_backoff": "0.3s", "inline": False},
                    },
                }
            ),
            encoding="utf-8",
        )
        hook.down()
        with Warden(load_settings(config, database=sqlite_url)) as warden:
            for _ in range(10):
                warden.record(provider="openai", model="gpt-4o", input_tokens=40_000)  # $0.10 each
            outbox = warden.backend.outbox
            assert outbox is not None
            assert outbox.backlog() == {"webhook": {"pending": 9}}
            try:
                first = _deliverer(config, sqlite_url)
                processes.append(first)
                _wait(
                    lambda: all(d.attempts >= 2 for d in outbox.deliveries(limit=20)),
                    120,
                    "two failed attempts of every alert",
                )
                first.send_signal(signal.SIGKILL)
                first.wait(30)
                assert hook.requests == []
                hook.up()
                second = _deliverer(config, sqlite_url)
                processes.append(second)
                hook.wait_for(9, timeout=120)
                second.send_signal(signal.SIGINT)
                assert second.wait(30) == 0
            finally:
                for process in processes:
                    if process.poll() is None:
                        process.kill()
                    process.communicate(timeout=30)
            assert outbox.backlog() == {"webhook": {"delivered": 9}}
        accepted = [r for r in hook.requests if r.status == 200]
        assert len(accepted) == 9 and len({r.id for r in accepted}) == 9
        assert all(r.verified for r in hook.requests)
        assert sorted(int(a["data"]["threshold"]) for a in hook.alerts) == list(range(10, 100, 10))
