"""`maintain` works in bounded batches and skips empty history: one event dated year 1 beside a recent
history is folded in a handful of short write transactions, and every report total stays the same."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from costwarden.config import RetentionConfig
from costwarden.core.usage import UsageEvent
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.retention import apply_retention
from costwarden.storage.codec import to_micros
from costwarden.storage.ledger import EventQuery
from costwarden.storage.rollups import NotResolvable
from costwarden.storage.sql.ledger import SqlLedger, open_ledger
from costwarden.storage.sql.rollup_store import RollupStore
from reports.history import NOW, make_history, priced

BERLIN = ZoneInfo("Europe/Berlin")
ANCIENT = datetime(1, 1, 2, tzinfo=UTC)
STATEMENT_CAP = 20_000  # the old day-by-day walk from year 1 runs millions; stop it early


def add_ancient(ledger: SqlLedger, at: datetime = ANCIENT) -> None:
    """An event dated `at`, as an older costwarden (or a raw import) may have stored it: appended with a
    recent date, then moved there in SQL (the triggers move its rollup sums along)."""
    event_ = UsageEvent.create(
        provider="openai",
        model="gpt-5",
        id="ancient",
        project="archaeology",
        occurred_at=NOW - timedelta(days=1),
        input_tokens=10,
    )
    ledger.append(priced(event_, 123_456_789))
    with ledger.write() as conn:
        conn.exec_driver_sql(f"UPDATE events SET occurred_at = {to_micros(at)} WHERE id = 'ancient'")


class Transactions:
    """Counts the statements of every transaction on an engine (and stops a runaway run)."""

    def __init__(self, ledger: SqlLedger) -> None:
        self.engine = ledger.engine
        self.sizes: list[int] = []
        self.total = 0
        self._current = 0

    def _begin(self, _conn: Any) -> None:
        self._current = 0

    def _statement(self, *_args: Any) -> None:
        self._current += 1
        self.total += 1
        if self.total > STATEMENT_CAP:
            raise RuntimeError(f"maintain ran more than {STATEMENT_CAP} statements")

    def _end(self, _conn: Any) -> None:
        self.sizes.append(self._current)

    def __enter__(self) -> Transactions:
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._end)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._end)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_ledger(request: pytest.FixtureRequest) -> Iterator[SqlLedger]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    ledger = open_ledger(url)
    try:
        yield ledger
    finally:
        ledger.close()


def _totals(aggregator: Aggregator) -> dict[object, object]:
    out: dict[object, object] = {}
    periods = [(None, None), (datetime(2025, 1, 1, tzinfo=UTC), None)]
    month = datetime(2025, 9, 1, tzinfo=BERLIN)
    while month < NOW:
        following = (month + timedelta(days=32)).replace(day=1)
        periods.append((month, following))
        month = following
    for start, end in periods:
        for group_by in ((), ("project",), ("model", "agent")):
            try:
                out[(start, end, group_by)] = aggregator.totals(EventQuery(start=start, end=end), group_by)
            except NotResolvable:
                out[(start, end, group_by)] = "not resolvable"
    return out


def test_year_one_is_skipped_quickly_and_totals_hold(sql_ledger: SqlLedger) -> None:
    sql_ledger.append_many(make_history(count=1200, days=400))
    add_ancient(sql_ledger)
    store = RollupStore(sql_ledger.engine)
    aggregator = Aggregator(sql_ledger, BERLIN, store)
    before = _totals(aggregator)
    ancient = store.totals(None, None, {"project": "archaeology"}, ("project",), BERLIN)
    assert [row.events for row in ancient] == [1]
    config = RetentionConfig(detailed_days=90, daily_days=200, monthly_days=None)
    with Transactions(sql_ledger) as seen:
        result = apply_retention(store, config, now=NOW, tz=BERLIN)
    assert result.events_deleted > 0 and result.hourly_folded > 0 and result.daily_folded > 0
    assert _totals(aggregator) == before
    assert store.totals(None, None, {"project": "archaeology"}, ("project",), BERLIN) == ancient
    assert seen.total < 3000 and max(seen.sizes) <= 600, seen.sizes


def test_each_write_transaction_is_a_bounded_batch(sql_ledger: SqlLedger) -> None:
    sql_ledger.append_many(make_history(count=3000, days=400))
    add_ancient(sql_ledger)
    store = RollupStore(sql_ledger.engine)
    aggregator = Aggregator(sql_ledger, BERLIN, store)
    before = _totals(aggregator)
    config = RetentionConfig(detailed_days=90, daily_days=200, monthly_days=None)
    with Transactions(sql_ledger) as seen:
        result = apply_retention(store, config, now=NOW, tz=BERLIN, batch_rows=100)
    assert result.events_deleted > 1000
    assert _totals(aggregator) == before
    assert len(seen.sizes) > 10, seen.sizes  # many short transactions, not one long one
    assert max(seen.sizes) <= 80, seen.sizes
    again = apply_retention(store, config, now=NOW, tz=BERLIN, batch_rows=100)
    assert (again.events_deleted, again.hourly_folded, again.daily_folded) == (0, 0, 0)
    assert _totals(aggregator) == before


def test_an_interrupted_run_is_finished_by_the_next(sql_ledger: SqlLedger) -> None:
    sql_ledger.append_many(make_history(count=1500, days=400))
    store = RollupStore(sql_ledger.engine)
    aggregator = Aggregator(sql_ledger, BERLIN, store)
    before = _totals(aggregator)
    config = RetentionConfig(detailed_days=90, daily_days=200, monthly_days=None)

    class Stop(Exception):
        pass

    commits = 0

    def stop_after_some(_conn: Any) -> None:
        nonlocal commits
        commits += 1
        if commits == 6:
            raise Stop

    event.listen(sql_ledger.engine, "commit", stop_after_some)
    try:
        with pytest.raises(Stop):
            apply_retention(store, config, now=NOW, tz=BERLIN, batch_rows=100)
    finally:
        event.remove(sql_ledger.engine, "commit", stop_after_some)
    assert _totals(aggregator) == before  # every state between batches answers the same
    apply_retention(store, config, now=NOW, tz=BERLIN, batch_rows=100)
    assert _totals(aggregator) == before
    assert store.verify() == []


def test_cli_maintain_beside_a_writer(tmp_path: Path) -> None:
    """The real command in its own process: year 1 plus recent events; a writer that needs the lock
    within 10 s gets it throughout, and the run ends."""
    path = tmp_path / "ledger.db"
    now = datetime.now(UTC)
    with open_ledger(str(path)) as ledger:
        ledger.append_many(make_history(count=600, days=200, end=now))
        add_ancient(ledger)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSTWARDEN_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "costwarden", "--db", str(path), "maintain", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    waits: list[float] = []
    failures: list[str] = []

    def probe() -> None:
        while proc.poll() is None:
            conn = sqlite3.connect(path, isolation_level=None, timeout=10)
            started = time.monotonic()
            try:
                conn.execute("BEGIN IMMEDIATE")
                waits.append(time.monotonic() - started)
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                failures.append(str(exc))
            finally:
                conn.close()
            time.sleep(0.01)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("maintain did not finish within 120 s")
    finally:
        prober.join(30)
    assert proc.returncode == 0, err
    assert '"events_deleted"' in out
    assert failures == [], f"a writer waited over 10 s for the lock: {failures}"
