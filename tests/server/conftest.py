"""A real server: the app over a Warden, run by uvicorn in a thread on a socket of its own, called over HTTP
with httpx. `world`: a database holding a known history at a fixed "now" (Berlin time, with budgets), on
SQLite and PostgreSQL, beside the CLI's JSON for the same database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from costwarden.access import key_ring
from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.core.usage import UsageEvent
from costwarden.server import ServerOptions, create_app
from costwarden.server.run import listening_socket
from costwarden.warden import Warden
from reports.history import NOW, latest, make_history, snapshots

BUDGETS = """
budgets:
  - id: monthly
    period: month
    cost_usd: 150
  - id: per-project
    scope: project
    period: month
    cost_usd: 40
    thresholds: ['1%']
  - id: daily
    period: day
    cost_usd: 5
    action: warn
"""


@dataclass
class Running:
    """A server listening on loopback, and the Warden behind it."""

    url: str
    warden: Warden
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=60)
        self.clients.append(client)
        return client

    def key(self, role: str, *projects: str) -> str:
        """A new key's secret."""
        return key_ring(self.warden).create(role=role, projects=projects).secret


@contextmanager
def running(warden: Warden, options: ServerOptions | None = None) -> Iterator[Running]:
    """Serve `warden` on a free loopback port until the block ends (then stop and join the server)."""
    with serving(create_app(warden, options=options), warden) as served:
        yield served


@contextmanager
def serving(app: FastAPI, warden: Warden) -> Iterator[Running]:
    """Serve `app` (over `warden`) on a free loopback port until the block ends."""
    app.state.ring.cache_seconds = 0
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    served = Running(f"http://127.0.0.1:{port}", warden)
    try:
        yield served
    finally:
        for client in served.clients:
            client.close()
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    return url


@dataclass
class World:
    """A database holding a known history, its config, the truth, and a server reading it at NOW."""

    url: str
    config: Path
    truth: list[UsageEvent]
    server: Running

    @property
    def warden(self) -> Warden:
        return self.server.warden

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
        """The JSON `costwarden ARGS` prints for this database (exit 0 asserted)."""
        capsys.readouterr()
        code = main(["--db", self.url, "--config", str(self.config), *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)

    def cli_text(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        capsys.readouterr()
        code = main(["--db", self.url, "--config", str(self.config), *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out


@pytest.fixture
def world(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    history = make_history(count=600, days=90)
    later = snapshots(history)
    config = tmp_path / "costwarden.yaml"
    config.write_text("timezone: Europe/Berlin\n" + BUDGETS, encoding="utf-8")
    warden = Warden(load_settings(config, database=database), clock=FixedClock(NOW))
    try:
        warden.ledger.append_many(history)
        warden.ledger.append_many(later)
        with running(warden) as served:
            yield World(database, config, latest([*history, *later]), served)
    finally:
        warden.close()


@pytest.fixture
def served(database: str) -> Iterator[Running]:
    """A server over an empty database with no budgets, at the system clock."""
    from costwarden.config import Settings

    warden = Warden(Settings(database=database))
    try:
        with running(warden) as served:
            yield served
    finally:
        warden.close()
