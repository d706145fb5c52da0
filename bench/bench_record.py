"""Recording throughput of the SQL ledger, against the bare driver on the same schema, in the same run.

    python bench/bench_record.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--events 100000]
                                 [--batch 10000] [--single 2000] [--repeat 3] [--events-only]

Measures, on SQLite (a temporary file) and PostgreSQL (a temporary schema, with --pg):
- single: durable `append(event)`, one transaction each; baseline: the driver inserting the same
  pre-encoded row in its own transaction (sqlite3 `BEGIN IMMEDIATE; INSERT; COMMIT`, psycopg INSERT+commit).
- batched: `append_many(batch)` from `UsageEvent` objects (encoding, validation, dedupe, idempotent
  upsert); baseline: the driver loading the same pre-encoded rows, no upsert (sqlite3 `executemany` of a
  plain INSERT, psycopg binary COPY straight into `events`), one transaction per batch.
Both sides write the same tables with the same indexes and triggers (all migrations, or only the events
table with --events-only). Figures are the best of --repeat runs, each on a fresh database.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from costwarden.core.usage import CostBreakdown, CostSource, UsageEvent, new_event_id
from costwarden.storage.codec import INT_COLUMNS, ROW_COLUMNS, Row, encode_event
from costwarden.storage.sql.ledger import SqlLedger, open_ledger
from costwarden.storage.sql.migrate import Migration
from costwarden.storage.sql.migrations import MIGRATIONS, m0001_events

__all__ = ["main"]


def make_events(n: int, seed: int = 1) -> list[UsageEvent]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events = []
    for i in range(n):
        input_tokens, output_tokens = rng.randrange(100, 20_000), rng.randrange(10, 4_000)
        cost_in = Decimal(input_tokens * 3).scaleb(-6)
        cost_out = Decimal(output_tokens * 15).scaleb(-6)
        event = UsageEvent.create(
            id=new_event_id(),
            occurred_at=start + timedelta(milliseconds=i * 37),
            provider="anthropic",
            model=rng.choice(("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")),
            input_tokens=input_tokens,
            cache_read_tokens=rng.randrange(0, 50_000),
            output_tokens=output_tokens,
            project=f"project-{i % 10}",
            agent=f"agent-{i % 50}",
            session=f"session-{i // 100}",
            task_type="review",
            tags={"team": f"team-{i % 4}", "env": "prod"},
            duration_ms=rng.randrange(200, 30_000),
        )
        events.append(
            event.with_cost(
                CostBreakdown(
                    total=cost_in + cost_out,
                    source=CostSource.COMPUTED,
                    slices={"input": cost_in, "output": cost_out},
                    price_ref="genai-prices 0.2.3",
                )
            )
        )
    return events


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Backend:
    name = ""

    def __init__(self, migrations: Sequence[Migration]) -> None:
        self.migrations = migrations

    @contextmanager
    def fresh(self) -> Iterator[tuple[SqlLedger, str]]:
        raise NotImplementedError
        yield

    def baseline_single(self, url: str, rows: Sequence[Row]) -> float:
        raise NotImplementedError

    def baseline_batched(self, url: str, rows: Sequence[Row], batch: int) -> float:
        raise NotImplementedError


_INSERT_COLUMNS = ", ".join([*ROW_COLUMNS, "revision"])


class SQLiteBackend(Backend):
    name = "SQLite"

    @contextmanager
    def fresh(self) -> Iterator[tuple[SqlLedger, str]]:
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "bench.db")
            ledger = open_ledger(path, migrations=self.migrations)
            try:
                yield ledger, path
            finally:
                ledger.close()

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "busy_timeout = 30000",
            "journal_mode = WAL",
            "synchronous = NORMAL",
            "foreign_keys = ON",
        ):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def baseline_single(self, url: str, rows: Sequence[Row]) -> float:
        conn = self._connect(url)
        sql = f"INSERT INTO events ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * len(ROW_COLUMNS))}, 1)"
        started = time.perf_counter()
        for row in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, row)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed

    def baseline_batched(self, url: str, rows: Sequence[Row], batch: int) -> float:
        conn = self._connect(url)
        sql = f"INSERT INTO events ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * len(ROW_COLUMNS))}, 1)"
        started = time.perf_counter()
        for part in chunks(rows, batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, part)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed


class PostgresBackend(Backend):
    name = "PostgreSQL"

    def __init__(self, migrations: Sequence[Migration], server: str) -> None:
        super().__init__(migrations)
        self.server = server

    @contextmanager
    def fresh(self) -> Iterator[tuple[SqlLedger, str]]:
        import psycopg

        schema = f"cw_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in self.server else "?"
        url = f"{self.server}{separator}options={quote(f'-csearch_path={schema}')}"
        ledger = open_ledger(url, migrations=self.migrations)
        try:
            yield ledger, url
        finally:
            ledger.close()
            with psycopg.connect(self.server, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    def baseline_single(self, url: str, rows: Sequence[Row]) -> float:
        import psycopg

        sql = f"INSERT INTO events ({_INSERT_COLUMNS}) VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))}, 1)"
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            for row in rows:
                conn.execute(sql, row)
                conn.commit()
            return time.perf_counter() - started

    def baseline_batched(self, url: str, rows: Sequence[Row], batch: int) -> float:
        import psycopg

        types = [_pg_type(c) for c in ROW_COLUMNS] + ["int4"]
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            for part in chunks(rows, batch):
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY events ({_INSERT_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
                ):
                    copy.set_types(types)
                    for row in part:
                        copy.write_row((*row, 1))
                conn.commit()
            return time.perf_counter() - started


def _pg_type(column: str) -> str:
    if column == "tags":
        return "jsonb"
    return "int8" if column in INT_COLUMNS else "text"


def _jsonb_rows(rows: Sequence[Row]) -> list[Row]:
    """Rows with tags wrapped for a binary COPY into a jsonb column."""
    from psycopg.types.json import Jsonb

    i = ROW_COLUMNS.index("tags")
    return [(*r[:i], None if r[i] is None else Jsonb(json.loads(r[i])), *r[i + 1 :]) for r in rows]


def best(times: list[float], n: int) -> tuple[float, float]:
    """(best, median) events per second."""
    return n / min(times), n / statistics.median(times)


def run(backend: Backend, events: list[UsageEvent], batch: int, single: int, repeat: int) -> list[str]:
    rows = [encode_event(e, 0) for e in events]
    if isinstance(backend, PostgresBackend):
        rows = _jsonb_rows(rows)
    results: dict[str, list[float]] = {k: [] for k in ("single", "single_base", "batched", "batched_base")}
    for _ in range(repeat):
        with backend.fresh() as (ledger, _url):
            started = time.perf_counter()
            for event in events[:single]:
                ledger.append(event)
            results["single"].append(time.perf_counter() - started)
        with backend.fresh() as (ledger, url):
            results["single_base"].append(backend.baseline_single(url, rows[:single]))
        with backend.fresh() as (ledger, _url):
            started = time.perf_counter()
            for part in chunks(events, batch):
                ledger.append_many(part)
            results["batched"].append(time.perf_counter() - started)
        with backend.fresh() as (ledger, url):
            results["batched_base"].append(backend.baseline_batched(url, rows, batch))
    lines = []
    for mode, n in (("single", single), ("batched", len(events))):
        ours, ours_median = best(results[mode], n)
        base, base_median = best(results[f"{mode}_base"], n)
        lines.append(
            f"{backend.name:<11} {mode:<8} {ours:>12,.0f} {ours_median:>12,.0f} {base:>12,.0f} "
            f"{base_median:>12,.0f} {ours / base:>7.2f}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", help="PostgreSQL server URL (a temporary schema is created and dropped)")
    parser.add_argument("--events", type=int, default=100_000, help="events per batched run")
    parser.add_argument("--batch", type=int, default=10_000, help="events per append_many call")
    parser.add_argument("--single", type=int, default=2_000, help="events appended one by one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--events-only", action="store_true", help="only the events table (migration m0001)")
    args = parser.parse_args(argv)
    migrations: Sequence[Migration] = [m0001_events] if args.events_only else MIGRATIONS
    events = make_events(args.events)
    backends: list[Backend] = [SQLiteBackend(migrations)]
    if args.pg:
        backends.append(PostgresBackend(migrations, args.pg))
    schema = (
        "events table only"
        if args.events_only
        else f"all migrations ({', '.join(m.NAME for m in migrations)})"
    )
    print(f"{args.events:,} events, batches of {args.batch:,}, {args.single:,} single appends; {schema}")
    print(f"events/s, best and median of {args.repeat}; ratio = ours / baseline (best)")
    header = ("backend", "mode", "ours", "(median)", "baseline", "(median)", "ratio")
    print("{:<11} {:<8} {:>12} {:>12} {:>12} {:>12} {:>7}".format(*header))
    for backend in backends:
        for line in run(backend, events, args.batch, args.single, args.repeat):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
