"""Month report from rollups against a raw scan of the events, in the same run, on SQLite and PostgreSQL.

    python bench/bench_reports.py [--events 10000000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                  [--no-sqlite] [--repeat 3] [--keep DIR]

Generates `--events` events spread over a year (a fleet of 20 projects, 50 agents, 12 models, sessions of
about 50 calls, runs of about 10), loads them straight into the `events` table (sqlite3 `executemany`,
psycopg binary COPY; the rollup triggers run as they would for any write), then times the report of the
last whole month grouped by project and model:

- rollups: `Aggregator.totals(...)` (hourly rollup rows of the month);
- raw scan: the same `Aggregator` told not to use rollups (`SUM ... GROUP BY` over the month's events).

Both answers are checked to be identical to the last unit. Figures are the best of `--repeat` runs;
the ratio is raw / rollups. The goal is <= 0.3 s from rollups.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from costwarden.reports.aggregate import Aggregator
from costwarden.storage.codec import INT_COLUMNS, ROW_COLUMNS, to_micros
from costwarden.storage.ledger import EventQuery
from costwarden.storage.sql.ledger import SqlLedger, open_ledger
from costwarden.storage.sql.rollup_store import RollupStore

__all__ = ["main", "generate"]

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=365)
MONTH = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
MODELS = [
    ("anthropic", "claude-opus-4-1", 150, 750),
    ("anthropic", "claude-sonnet-4-5", 30, 150),
    ("anthropic", "claude-haiku-4-5", 10, 50),
    ("openai", "gpt-5", 12, 100),
    ("openai", "gpt-5-mini", 2, 20),
    ("openai", "gpt-4o", 25, 100),
    ("openai", "gpt-4.1", 20, 80),
    ("openai", "o3", 20, 80),
    ("google", "gemini-2.5-pro", 12, 100),
    ("google", "gemini-2.5-flash", 3, 25),
    ("ollama", "llama3.1", 0, 0),
    ("mistral", "mistral-large", 20, 60),
]  # (provider, model, input and output cost in 10^-10 USD per token: $15/M = 150 units per token)
_TAGS = ROW_COLUMNS.index("tags")


def generate(n: int, seed: int = 7) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in `ROW_COLUMNS` order, in batches of about 100k, sessions of ~50 calls spread over the year."""
    rnd = random.Random(seed)
    span = int((END - START).total_seconds() * 1_000_000) - 4 * 3_600_000_000
    start_us = to_micros(START)
    recorded = to_micros(END)
    prefix = uuid.uuid4().hex[:8]
    made = 0
    batch: list[tuple[Any, ...]] = []
    session_no = 0
    while made < n:
        session_no += 1
        project = f"project-{rnd.randrange(20):02d}"
        agent = f"agent-{rnd.randrange(50):02d}"
        user = f"user-{rnd.randrange(30):02d}"
        tags = f'{{"team":"team-{rnd.randrange(5)}"}}' if rnd.random() < 0.5 else None
        models = rnd.sample(MODELS, k=rnd.randint(1, 3))
        at = start_us + rnd.randrange(span)
        calls = min(n - made, rnd.randint(20, 80))
        run_no = 0
        for i in range(calls):
            if i % 10 == 0:
                run_no += 1
            provider, model, cin, cout = models[i % len(models)]
            at += rnd.randrange(5_000_000, 120_000_000)
            inp = rnd.randrange(200, 30_000)
            cread = rnd.randrange(0, 60_000) if i % 3 else 0
            out = rnd.randrange(20, 3_000)
            unpriced = provider == "mistral"
            cost = inp * cin + cread * cin // 10 + out * cout if not unpriced else 10_000_000
            status = "error" if rnd.random() < 0.03 else "ok"
            batch.append(
                (
                    f"{prefix}-{made:09d}",
                    at,
                    provider,
                    model,
                    inp,
                    cread,
                    0,
                    0,
                    out,
                    0,
                    1,
                    0,
                    inp + cread + out,
                    project,
                    agent,
                    f"s-{session_no:07d}",
                    f"r-{session_no:07d}-{run_no}",
                    None,
                    None,
                    None,
                    user,
                    tags,
                    "sdk",
                    status,
                    None,
                    None,
                    None,
                    cost,
                    "unpriced" if unpriced else "computed",
                    None,
                    None,
                    recorded,
                    None,  # given_provider, given_model: the canonical names were given
                    None,
                    None,  # provider_response_id, provider_request_id, given_id
                    None,
                    None,
                )
            )
            made += 1
        if len(batch) >= 100_000:
            yield batch
            batch = []
    if batch:
        yield batch


def load_sqlite(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    placeholders = ", ".join("?" for _ in ROW_COLUMNS)
    sql = f"INSERT INTO events ({', '.join(ROW_COLUMNS)}, revision) VALUES ({placeholders}, 1)"
    started = time.perf_counter()
    for rows in generate(n):
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        progress(len(rows))
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def load_postgres(url: str, n: int) -> float:
    import psycopg
    from psycopg.types.json import Jsonb

    jsonb: dict[str, Any] = {}
    types = ["int8" if c in INT_COLUMNS else ("jsonb" if c == "tags" else "text") for c in ROW_COLUMNS]
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for rows in generate(n):
            with (
                conn.cursor() as cur,
                cur.copy(
                    f"COPY events ({', '.join(ROW_COLUMNS)}, revision) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types([*types, "int4"])
                for row in rows:
                    tags = row[_TAGS]
                    if tags is not None:
                        tags = jsonb.get(tags) or jsonb.setdefault(tags, Jsonb(json.loads(tags)))
                    copy.write_row((*row[:_TAGS], tags, *row[_TAGS + 1 :], 1))
            conn.commit()
            progress(len(rows))
        conn.execute("ANALYZE")
        conn.commit()
    return time.perf_counter() - started


_done = 0


def progress(rows: int) -> None:
    global _done
    _done += rows
    if _done % 1_000_000 < rows:
        print(f"  loaded {_done:,} events", file=sys.stderr, flush=True)


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def measure(ledger: SqlLedger, repeat: int) -> dict[str, Any]:
    store = RollupStore(ledger.engine)
    utc = ZoneInfo("UTC")
    fast = Aggregator(ledger, utc, store)
    raw = Aggregator(ledger, utc, store, use_rollups=False)
    query = EventQuery(start=MONTH[0], end=MONTH[1])
    keys = ("project", "model")
    t_roll, rows_roll = best(lambda: fast.totals(query, keys), repeat)
    t_raw, rows_raw = best(lambda: raw.totals(query, keys), repeat)
    assert rows_roll == rows_raw, "rollups and raw scan disagree"
    assert fast.last_sources == ("rollups",)
    stats = store.stats()
    month_rows = sum(r.events for r in rows_roll)  # type: ignore[attr-defined]
    return {
        "month_events": month_rows,
        "groups": len(rows_roll),  # type: ignore[arg-type]
        "hourly_rollup_rows": stats.get("hour", (0, None, None))[0],
        "rollups_s": round(t_roll, 4),
        "raw_scan_s": round(t_raw, 4),
        "ratio_raw_over_rollups": round(t_raw / t_roll, 1) if t_roll else None,
    }


def run_sqlite(n: int, repeat: int, keep: Path | None) -> dict[str, Any]:
    directory = keep or Path(tempfile.mkdtemp(prefix="cw-bench-"))
    path = directory / f"bench-{n}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    open_ledger(f"sqlite:///{path}").close()  # schema, triggers
    load_s = load_sqlite(path, n)
    ledger = open_ledger(f"sqlite:///{path}")
    try:
        return {"backend": "sqlite", "events": n, "load_s": round(load_s, 1), **measure(ledger, repeat)}
    finally:
        ledger.close()
        if keep is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_postgres(server: str, n: int, repeat: int, keep: bool) -> dict[str, Any]:
    import psycopg

    schema = f"cw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{server}{'&' if '?' in server else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        open_ledger(url).close()
        load_s = load_postgres(url, n)
        ledger = open_ledger(url)
        try:
            return {
                "backend": "postgresql",
                "events": n,
                "load_s": round(load_s, 1),
                **measure(ledger, repeat),
            }
        finally:
            ledger.close()
    finally:
        if not keep:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events to generate (10M is the target)"
    )
    parser.add_argument("--pg", default=None, help="PostgreSQL server URL (a temporary schema is used)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the SQLite file in this directory")
    args = parser.parse_args(argv)
    results = []
    global _done
    if not args.no_sqlite:
        _done = 0
        results.append(run_sqlite(args.events, args.repeat, args.keep))
        print(json.dumps(results[-1]), flush=True)
    if args.pg:
        _done = 0
        results.append(run_postgres(args.pg, args.events, args.repeat, args.keep is not None))
        print(json.dumps(results[-1]), flush=True)
    for r in results:
        print(
            f"{r['backend']:10} {r['events']:>11,} events  month of {r['month_events']:,}: rollups "
            f"{r['rollups_s']:.3f} s, raw scan {r['raw_scan_s']:.3f} s, ratio {r['ratio_raw_over_rollups']}x "
            f"(goal <= 0.3 s from rollups: {'met' if r['rollups_s'] <= 0.3 else 'MISSED'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
