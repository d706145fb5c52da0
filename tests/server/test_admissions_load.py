"""8 processes x 8 threads admitting and settling over HTTP against one budget held by `costwarden serve
--workers 2`, on SQLite and PostgreSQL: the budget never overshoots, every admission is answered (201, or a
429 refusal: never a 5xx, which SQLite's lock used to give writers that kept losing the race for it) and
every one admitted is settled exactly once."""

from __future__ import annotations

import multiprocessing
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from costwarden.config import Settings
from costwarden.storage.ledger import EventQuery
from costwarden.warden import Warden

PROCESSES = 8
THREADS = 8
ATTEMPTS = 6
LIMIT = Decimal("1.00")
CALL = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "max_tokens": 500, "project": "web"}
USED = {"input_tokens": 1000, "output_tokens": 200}  # $0.0045 of the $0.0075 reserved

pytestmark = pytest.mark.slow


def _thread(url: str, out: list[tuple[str, int]]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        for _ in range(ATTEMPTS):
            admitted = client.post("/api/v1/admissions", json=CALL)
            out.append(("admit", admitted.status_code))
            if admitted.status_code != 201:
                continue
            settled = client.post(f"/api/v1/admissions/{admitted.json()['id']}/settle", json=USED)
            out.append(("settle", settled.status_code))


def _process(url: str, results: Any) -> None:
    out: list[tuple[str, int]] = []
    threads = [threading.Thread(target=_thread, args=(url, out)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(out)


@pytest.fixture
def served(database: str, tmp_path: Path) -> Iterator[str]:
    """`costwarden serve --workers 2` (two processes on one database), as deployed; its URL."""
    config = tmp_path / "costwarden.yaml"
    config.write_text(
        f"budgets:\n  - {{id: web, scope: project, value: web, period: month, cost_usd: {LIMIT}}}\n",
        encoding="utf-8",
    )
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "costwarden",
                "--db",
                database,
                "--config",
                str(config),
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _healthy(url):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_no_overshoot_and_no_lost_answer(served: str, database: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    processes = [ctx.Process(target=_process, args=(served, results)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    answers: list[tuple[str, int]] = []
    for _ in processes:
        answers.extend(results.get(timeout=240))
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    results.close()
    results.join_thread()
    counts = Counter(answers)
    # every answer is an admission, a refusal or a settlement: no 5xx under load
    assert set(counts) <= {("admit", 201), ("admit", 429), ("settle", 200)}, counts
    assert counts["admit", 201] + counts["admit", 429] == PROCESSES * THREADS * ATTEMPTS
    assert counts["settle", 200] == counts["admit", 201]
    assert counts["admit", 429] > 0  # the budget was contended
    with Warden(Settings(database=database)) as warden:
        (totals,) = warden.ledger.totals(EventQuery())
    assert totals.events == counts["admit", 201]
    assert totals.cost <= LIMIT
    assert totals.cost > LIMIT - Decimal("0.0075") * PROCESSES * THREADS  # used, not refused away
