"""`costwarden serve` as users run it: what it says at start, loopback only without keys, a graceful stop
on SIGTERM that lets a request in flight finish."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from costwarden.cli import main
from costwarden.config import Settings
from costwarden.warden import Warden


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _start(db: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "costwarden", "--db", db, "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    out = process.communicate()[0]
    raise AssertionError(f"the server did not start: {out}")


def test_it_says_where_it_listens_and_how_callers_authenticate(sqlite_url: str) -> None:
    process, url = _start(sqlite_url)
    try:
        assert httpx.get(f"{url}/api/v1/usage/summary").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out = process.communicate(timeout=60)[0]
    assert process.returncode == 0, out
    assert f"listening on {url}" in out
    assert "no API keys: open to this machine only (loopback)" in out
    assert sqlite_url in out


def test_without_keys_it_refuses_to_listen_beyond_loopback(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", sqlite_url, "serve", "--host", "0.0.0.0", "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert "--host" in err and "no API keys exist" in err and "costwarden keys create" in err


def test_with_keys_it_says_every_request_needs_one(sqlite_url: str) -> None:
    with Warden(Settings(database=sqlite_url)) as warden:
        from costwarden.access import key_ring

        secret = key_ring(warden).create(role="reader").secret
    process, url = _start(sqlite_url, "--host", "0.0.0.0")
    try:
        assert httpx.get(f"{url}/api/v1/usage").status_code == 401
        assert httpx.get(f"{url}/api/v1/usage", headers={"X-API-Key": secret}).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out = process.communicate(timeout=60)[0]
    assert "1 API key(s) active; every request needs one" in out
    assert secret not in out


def test_sigterm_lets_the_request_in_flight_finish(sqlite_url: str, tmp_path: Path) -> None:
    process, url = _start(sqlite_url)
    batch = {
        "events": [
            {"id": f"e{i}", "provider": "openai", "model": "gpt-4o", "input_tokens": i} for i in range(10_000)
        ]
    }
    answers: list[httpx.Response] = []

    def post() -> None:
        answers.append(httpx.post(f"{url}/api/v1/events", json=batch, timeout=120))

    sender = threading.Thread(target=post)
    try:
        sender.start()
        time.sleep(0.3)  # the batch is being read, priced and written
        process.send_signal(signal.SIGTERM)
        sender.join(120)
        out = process.communicate(timeout=120)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, out
    assert answers and answers[0].status_code == 200
    assert answers[0].json()["accepted"] == 10_000
    with Warden(Settings(database=sqlite_url)) as warden:
        assert warden.ledger.totals()[0].events == 10_000
