"""The REST API against the in-process calls it wraps, in the same run, on SQLite.

    python bench/bench_api.py [--calls 1000] [--batches 20] [--events 1000000] [--ledger PATH]

- admit+settle: `POST /api/v1/admissions` then `POST /api/v1/admissions/{id}/settle` over HTTP (one
  keep-alive client, a server in this process on loopback) against `warden.admit` + `warden.settle` in
  process on the same database and budgets, interleaved call by call; p50 and p99 in ms and the ratio.
- ingest: `POST /api/v1/events` with batches of 1,000 events (ids given, priced on arrival) against
  `warden.record_many` of the same events in process, each on a fresh database; events/s and the ratio.
  The goal is >= 20,000 events/s over HTTP.
- month summary: `GET /api/v1/usage/summary?top=0` (this month, by the rollups) against `summary_report`
  in process, over a ledger of `--events` events spread over a year (bench_reports' generator, loaded
  straight into the events table with the rollup triggers; `--ledger PATH` keeps or reuses the file);
  best of 5, in ms. The goal is <= 50 ms at 10M events.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.usage import Attribution, Usage, UsageEvent
from costwarden.server import create_app
from costwarden.server.run import listening_socket
from costwarden.views.report import ReportQuery, summary_report
from costwarden.warden import Warden

__all__ = ["main"]

BUDGETS = [
    {"id": "daily", "period": "day", "cost_usd": "1000000"},
    {"id": "per-project", "scope": "project", "period": "month", "cost_usd": "1000000"},
]
CALL = {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1200, "max_tokens": 1000}
USED = {"input_tokens": 1200, "output_tokens": 300}
NOW = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # the last month of bench_reports' ledger


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1e3, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3


@contextmanager
def served(warden: Warden) -> Iterator[httpx.Client]:
    """The app over `warden` on a loopback port (uvicorn in a thread) and a keep-alive client of it."""
    app = create_app(warden)
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def bench_admissions(tmp: Path, calls: int) -> None:
    warden = Warden(settings_from_mapping({"budgets": BUDGETS}), database=f"sqlite:///{tmp / 'admit.db'}")
    usage = Usage(**USED)
    http: list[float] = []
    local: list[float] = []
    try:
        with served(warden) as client:
            for i in range(calls + 100):
                project = f"project-{i % 8}"
                t0 = time.perf_counter()
                admitted = client.post("/api/v1/admissions", json={**CALL, "project": project})
                settled = client.post(f"/api/v1/admissions/{admitted.json()['id']}/settle", json=USED)
                t1 = time.perf_counter()
                assert admitted.status_code == 201 and settled.status_code == 200, settled.text
                request = CallRequest(
                    provider="openai",
                    model="gpt-4o-mini",
                    input_tokens=1200,
                    max_tokens=1000,
                    attribution=Attribution(project=project),
                )
                warden.settle(warden.admit(request), usage)
                t2 = time.perf_counter()
                if i >= 100:
                    http.append(t1 - t0)
                    local.append(t2 - t1)
    finally:
        warden.close()
    h50, h99 = percentiles(http)
    l50, l99 = percentiles(local)
    print(f"admit+settle ({calls} calls, SQLite, 2 budgets)")
    print(f"  in process     p50 {l50:7.3f} ms   p99 {l99:7.3f} ms")
    print(f"  over HTTP      p50 {h50:7.3f} ms   p99 {h99:7.3f} ms   ({h50 / l50:.2f}x in process at p50)")


def _events(batch: int, size: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"b{batch}-e{i}",
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "input_tokens": 1000 + i,
            "cache_read_tokens": 200,
            "output_tokens": 150,
            "project": f"project-{i % 20}",
            "agent": f"agent-{i % 50}",
            "session": f"s-{batch}-{i // 50}",
            "occurred_at": "2026-10-20T12:00:00+00:00",
        }
        for i in range(size)
    ]


def bench_ingest(tmp: Path, batches: int, size: int = 1000) -> None:
    over_http = Warden(settings_from_mapping({}), database=f"sqlite:///{tmp / 'ingest-http.db'}")
    in_process = Warden(settings_from_mapping({}), database=f"sqlite:///{tmp / 'ingest-local.db'}")
    http_s = local_s = 0.0
    try:
        with served(over_http) as client:
            for batch in range(batches + 1):
                items = _events(batch, size)
                t0 = time.perf_counter()
                response = client.post("/api/v1/events", json={"events": items})
                t1 = time.perf_counter()
                assert response.status_code == 200 and response.json()["accepted"] == size, response.text
                events = [
                    UsageEvent.create(**{**e, "occurred_at": datetime.fromisoformat(e["occurred_at"])})
                    for e in items
                ]
                in_process.record_many(events)
                t3 = time.perf_counter()
                if batch:  # the first batch warms both up
                    http_s += t1 - t0
                    local_s += t3 - t1
    finally:
        over_http.close()
        in_process.close()
    n = batches * size
    print(f"ingest ({batches} batches of {size:,} events, SQLite)")
    print(f"  in process (construct + record_many)  {n / local_s:9,.0f} events/s")
    print(
        f"  POST /api/v1/events                   {n / http_s:9,.0f} events/s   "
        f"({(n / http_s) / (n / local_s):.2f}x in process; goal >= 20,000/s: "
        f"{'met' if n / http_s >= 20_000 else 'MISSED'})"
    )


def bench_summary(tmp: Path, events: int, ledger: Path | None) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_reports import load_sqlite
    from costwarden.storage.sql.ledger import open_ledger

    path = ledger or tmp / f"month-{events}.db"
    if not path.exists():
        open_ledger(f"sqlite:///{path}").close()  # schema and rollup triggers
        took = load_sqlite(path, events)
        print(f"  (generated {events:,} events in {took:.0f} s)", file=sys.stderr)
    warden = Warden(settings_from_mapping({}), database=f"sqlite:///{path}", clock=FixedClock(NOW))
    http: list[float] = []
    local: list[float] = []
    try:
        with served(warden) as client:
            for _ in range(6):
                t0 = time.perf_counter()
                response = client.get("/api/v1/usage/summary", params={"top": 0})
                t1 = time.perf_counter()
                result = summary_report(warden, ReportQuery(top=0))
                t2 = time.perf_counter()
                assert response.status_code == 200, response.text
                assert response.json()["totals"] == result.to_json()["totals"]
                http.append(t1 - t0)
                local.append(t2 - t1)
            month = response.json()["totals"]
    finally:
        warden.close()
    best_http, best_local = min(http[1:]) * 1e3, min(local[1:]) * 1e3
    print(
        f"month summary (SQLite ledger of {events:,} events; this month: {month.get('events', '?'):,} calls)"
    )
    print(f"  in process (summary_report)        best {best_local:8.1f} ms")
    print(
        f"  GET /api/v1/usage/summary?top=0    best {best_http:8.1f} ms   ({best_http / best_local:.2f}x; "
        f"goal <= 50 ms: {'met' if best_http <= 50 else 'MISSED'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size for the month summary")
    parser.add_argument("--ledger", type=Path, help="keep (or reuse) the month summary's ledger here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_admissions(Path(tmp), args.calls)
        bench_ingest(Path(tmp), args.batches)
        bench_summary(Path(tmp), args.events, args.ledger)


if __name__ == "__main__":
    main()
