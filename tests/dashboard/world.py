"""A served dashboard over a known history (the report tests' history at their fixed "now", Berlin time,
with budgets), for the page tests of a module: one database, one server, shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.dashboard import dashboard_router
from costwarden.server import create_app
from costwarden.warden import Warden
from reports.history import NOW, make_history, snapshots
from server.conftest import Running, serving

__all__ = ["NOW", "BUDGETS", "Served", "served_dashboard"]

BUDGETS = """
timezone: Europe/Berlin
budgets:
  - id: monthly
    period: month
    cost_usd: 150
  - id: per-project
    scope: project
    period: month
    cost_usd: 40
    thresholds: ['10%', '25%']
  - id: daily
    period: day
    cost_usd: 5
    action: warn
"""


@dataclass
class Served:
    server: Running
    api: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def warden(self) -> Warden:
        return self.server.warden

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def served_dashboard(
    directory: Path, *, keys: bool = False, poll_seconds: float = 0.3, extra_config: str = ""
) -> Iterator[Served]:
    """A server with the dashboard over a fresh SQLite database holding the history; `keys`: an admin key
    exists (the page then needs one)."""
    config = directory / "costwarden.yaml"
    config.write_text(BUDGETS + extra_config, encoding="utf-8")
    warden = Warden(
        load_settings(config, database=f"sqlite:///{directory / 'ledger.db'}"), clock=FixedClock(NOW)
    )
    try:
        history = make_history(count=600, days=90)
        warden.ledger.append_many(history)
        warden.ledger.append_many(snapshots(history))
        for i in range(20):  # a flaky agent (6 of 20 calls fail after using input): an insight, and alerts
            warden.record(
                provider="openai",
                model="gpt-5",
                id=f"flaky-{i}",
                agent="flaky",
                project="backend-api",
                session="flaky-session",
                occurred_at=NOW - timedelta(hours=9 * i + 1),
                input_tokens=2_000,
                output_tokens=1_500 if i % 10 >= 3 else 0,
                status="error" if i % 10 < 3 else "ok",
            )
        app = create_app(warden, routers=[dashboard_router(poll_seconds=poll_seconds)])
        with serving(app, warden) as server:
            secret = server.key("admin") if keys else None
            yield Served(server, server.client(secret))
    finally:
        warden.close()
