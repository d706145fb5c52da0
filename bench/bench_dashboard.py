"""The dashboard's first render against the API in the same run, on a large SQLite ledger with rollups.

    python bench/bench_dashboard.py [--events 10000000] [--repeat 3] [--keep DIR]

Loads `--events` events spread over a year (`bench_reports.generate`: 20 projects, 50 agents, 12 models;
straight into the `events` table, the rollup triggers running as for any write), with a monthly and a daily
budget, then serves the app with the dashboard on loopback (uvicorn, one worker) and times over HTTP, at
a fixed "now" at the end of the year's last month:

- the page's first render: `/` and every panel the page shows first (`/dashboard/panels/*`: all but the
  insights, which it asks for once the figures are in), one after the other, as server time (the sum of
  the requests' times; the browser asks for them at once);
- each panel alone, and `/dashboard/version` (what the page polls);
- baselines: `/healthz` and `/api/v1/usage/summary?period=this-month` (the API's month summary).

Figures are the best of `--repeat` runs after one warm-up (the first, cold, render is printed too). Page
weight: the bytes of the page, its assets and its panels. Goals: first render <= 0.3 s server time on 10M
events; page weight <= 300 KB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import load_sqlite
from costwarden.clock import FixedClock
from costwarden.config import Settings
from costwarden.dashboard import dashboard_router
from costwarden.dashboard.assets import ASSETS
from costwarden.dashboard.routes import PANELS
from costwarden.server import create_app
from costwarden.server.run import listening_socket
from costwarden.storage.sql.ledger import open_ledger
from costwarden.warden import Warden

__all__ = ["main"]

LATER = ("insights",)
"""Panels the page asks for after the first render."""
NOW = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
"""The dashboard's "now": late on the last day of the generated year (its last whole month is October)."""
BUDGETS = [
    {"id": "monthly", "period": "month", "cost_usd": "250000"},
    {"id": "daily", "period": "day", "cost_usd": "9000", "action": "warn"},
    {"id": "per-project", "period": "month", "scope": "project", "cost_usd": "15000"},
]


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def timed_get(client: httpx.Client, path: str) -> httpx.Response:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    return response


def measure(url: str, repeat: int) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=600) as client:
        render_paths = ["/", *(f"/dashboard/panels/{p}" for p in PANELS if p not in LATER)]

        def render() -> int:
            return sum(len(timed_get(client, p).content) for p in render_paths)

        cold_started = time.perf_counter()
        html_bytes = render()
        cold = time.perf_counter() - cold_started
        html_bytes += sum(len(timed_get(client, f"/dashboard/panels/{p}").content) for p in LATER)
        assets = sum(len(timed_get(client, f"/dashboard/assets/{name}").content) for name in ASSETS)
        first = best(render, repeat)
        panels = {
            p: round(best(lambda p=p: timed_get(client, f"/dashboard/panels/{p}"), repeat), 4) for p in PANELS
        }
        version = best(lambda: timed_get(client, "/dashboard/version"), repeat)
        healthz = best(lambda: timed_get(client, "/healthz"), repeat)
        summary = best(lambda: timed_get(client, "/api/v1/usage/summary?period=this-month"), repeat)
    return {
        "first_render_s": round(first, 4),
        "cold_first_render_s": round(cold, 4),
        "panels_s": panels,
        "version_s": round(version, 4),
        "healthz_s": round(healthz, 5),
        "api_month_summary_s": round(summary, 4),
        "render_over_summary": round(first / summary, 1) if summary else None,
        "page_weight_bytes": html_bytes + assets,
        "assets_bytes": assets,
    }


def serve(warden: Warden) -> tuple[uvicorn.Server, threading.Thread, Any, str]:
    app = create_app(warden, routers=[dashboard_router()])
    sock = listening_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events to generate (10M is the goal's)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the SQLite file here")
    args = parser.parse_args(argv)
    directory = args.keep or Path(tempfile.mkdtemp(prefix="cw-bench-dash-"))
    path = directory / f"dashboard-{args.events}.db"
    load_s = None
    if not (args.keep and path.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        open_ledger(f"sqlite:///{path}").close()
        load_s = round(load_sqlite(path, args.events), 1)
    settings = Settings.model_validate(
        {"database": f"sqlite:///{path}", "timezone": "UTC", "budgets": BUDGETS}
    )
    warden = Warden(settings, clock=FixedClock(NOW))
    try:
        warden.record(
            provider="openai", model="gpt-4o", input_tokens=1_000, project="project-01", occurred_at=NOW
        )
        server, thread, sock, url = serve(warden)
        try:
            result = {
                "backend": "sqlite",
                "events": args.events,
                "load_s": load_s,
                **measure(url, args.repeat),
            }
        finally:
            server.should_exit = True
            thread.join(30)
            sock.close()
    finally:
        warden.close()
        if args.keep is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(json.dumps(result), flush=True)
    render, summary = result["first_render_s"], result["api_month_summary_s"]
    weight = result["page_weight_bytes"]
    ratio = result["render_over_summary"]
    print(
        f"sqlite {args.events:,} events: first render {render * 1000:.0f} ms server time "
        f"(goal <= 300 ms: {'met' if render <= 0.3 else 'MISSED'}), {ratio}x the API's month summary "
        f"({summary * 1000:.0f} ms; /healthz {result['healthz_s'] * 1000:.1f} ms); insights after it "
        f"{result['panels_s']['insights'] * 1000:.0f} ms; page weight {weight / 1024:.0f} KB "
        f"(goal <= 300 KB: {'met' if weight <= 300 * 1024 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
