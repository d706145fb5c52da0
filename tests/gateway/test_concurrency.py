"""8 client processes x 8 threads through `costwarden gateway --workers 2` against one budget on SQLite and
on PostgreSQL: the budget is never overshot, every refusal is an HTTP 429 (never a 500), and each call is
one event."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest

from costwarden.core.usage import EventStatus
from costwarden.storage.sql.ledger import open_ledger
from costwarden.testing import FakeProvider, Reply

CLIENT = r"""
import json, sys, threading
import openai

url, calls = sys.argv[1], int(sys.argv[2])
counts = {"ok": 0, "refused": 0, "other": []}
lock = threading.Lock()

def agent(number):
    with openai.OpenAI(base_url=url, api_key="agent-key", max_retries=0) as client:
        for _ in range(calls):
            try:
                client.chat.completions.create(
                    model="gpt-5-mini",
                    messages=[{"role": "user", "content": "hi"}],
                    max_completion_tokens=1000,
                    extra_headers={"x-costwarden-agent": f"agent-{number}"},
                )
                outcome = "ok"
            except openai.RateLimitError as exc:
                outcome = "refused" if exc.body["code"] == "budget_exceeded" else repr(exc)
            except Exception as exc:
                outcome = repr(exc)
            with lock:
                if outcome in ("ok", "refused"):
                    counts[outcome] += 1
                else:
                    counts["other"].append(outcome)

threads = [threading.Thread(target=agent, args=(n,)) for n in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(counts))
"""

LIMIT = Decimal("0.05")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the gateway exited with {proc.returncode}")
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the gateway did not start")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.mark.slow
def test_eight_processes_of_eight_threads_never_overshoot(tmp_path: Path, database: str) -> None:
    # the reply never exceeds what admission reserved: 1000 output tokens, a small input
    with FakeProvider(default=Reply(input_tokens=8, output_tokens=1000)) as fake:
        config = tmp_path / "costwarden.yaml"
        config.write_text(
            json.dumps(
                {
                    "database": database,
                    "budgets": [{"id": "shared", "name": "Shared", "period": "day", "cost_usd": str(LIMIT)}],
                    "gateway": {
                        "upstreams": [
                            {
                                "name": "openai",
                                "api": "openai",
                                "base_url": fake.openai_base_url,
                                "api_key_env": "GW_TEST_KEY",
                            }
                        ]
                    },
                }
            )
        )
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COSTWARDEN_")}
        env["GW_TEST_KEY"] = "sk-upstream"
        serve = ["gateway", "--port", str(port), "--workers", "2"]
        gateway = subprocess.Popen(
            [sys.executable, "-m", "costwarden", "--config", str(config), *serve],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, gateway)
            command = [sys.executable, "-c", CLIENT, f"{url}/v1", "4"]
            clients = [
                subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(8)
            ]
            results = []
            for client in clients:
                out, _ = client.communicate(timeout=240)
                assert client.returncode == 0
                results.append(json.loads(out))
        finally:
            gateway.send_signal(signal.SIGINT)
            _, err = gateway.communicate(timeout=60)
        assert b"Traceback" not in err, err.decode()
        served = fake.served

    ok = sum(r["ok"] for r in results)
    refused = sum(r["refused"] for r in results)
    assert [r["other"] for r in results] == [[]] * 8
    assert ok + refused == 8 * 8 * 4
    assert ok > 0 and refused > 0
    assert served == ok  # a refused call never reached the upstream
    ledger = open_ledger(database)
    try:
        events = list(ledger.events())
    finally:
        ledger.close()
    assert len(events) == ok and all(e.status == EventStatus.OK for e in events)
    assert len({e.id for e in events}) == ok
    spent = sum((e.cost.total for e in events if e.cost is not None), Decimal(0))
    assert spent <= LIMIT
    assert spent > LIMIT * Decimal("0.8")  # and the budget was used, not refused early
