"""Quota readings: a time series per provider + account + window, on memory, SQLite and PostgreSQL; the
upgrade from the one-latest-snapshot-per-provider table keeps what it held."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from costwarden.storage.codec import to_micros
from costwarden.storage.quotas import (
    RETRY_WINDOW,
    MemoryQuotaStore,
    QuotaReading,
    QuotaSnapshot,
    QuotaStore,
    QuotaWindow,
    readings_of,
)
from costwarden.storage.sql.ledger import open_ledger
from costwarden.storage.sql.migrations import MIGRATIONS
from costwarden.storage.sql.quota_store import SqlQuotaStore

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[QuotaStore]:
    if request.param == "memory":
        yield MemoryQuotaStore()
        return
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    with open_ledger(url) as ledger:
        yield SqlQuotaStore(ledger.engine)


def snap(
    at: datetime, remaining: int, *, account: str = "default", provider: str = "openai"
) -> QuotaSnapshot:
    windows = {
        "requests": QuotaWindow(
            "requests", limit=100, remaining=remaining, reset_at=at + timedelta(seconds=6)
        ),
        "tokens": QuotaWindow("tokens", limit=10_000, remaining=remaining * 100),
    }
    return QuotaSnapshot(provider=provider, observed_at=at, windows=windows, account=account, model="gpt-5")


def test_history_keeps_every_reading_per_account(store: QuotaStore) -> None:
    for minute in range(3):
        store.save(snap(T0 + timedelta(minutes=minute), 90 - minute))
        store.save(snap(T0 + timedelta(minutes=minute), 50 - minute, account="team"))
    history = store.history(provider="openai", account="default", window="requests")
    assert [r.remaining for r in history] == [90, 89, 88]
    assert [r.observed_at for r in history] == [T0 + timedelta(minutes=m) for m in range(3)]
    team = store.latest("openai", "team")
    mine = store.latest("openai", "default")
    assert team is not None and mine is not None
    assert team.windows["requests"].remaining == 48 and mine.windows["requests"].remaining == 88
    assert mine.windows["requests"].reset_at == T0 + timedelta(minutes=2, seconds=6)
    assert [(s.provider, s.account) for s in store.all()] == [("openai", "default"), ("openai", "team")]
    since = store.history(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=2))
    assert {(r.account, r.window, r.remaining) for r in since} == {
        ("default", "requests", 89),
        ("default", "tokens", 8900),
        ("team", "requests", 49),
        ("team", "tokens", 4900),
    }


def test_the_same_reading_twice_is_one_row(store: QuotaStore) -> None:
    store.save(snap(T0, 90))
    store.save(snap(T0, 90))
    assert len(store.history()) == 2  # two windows, once each


def test_latest_readings_is_the_newest_of_each_window(store: QuotaStore) -> None:
    store.save(snap(T0 + timedelta(minutes=5), 70))
    store.save(snap(T0, 90))  # older, arriving late
    store.append([QuotaReading("codex", "default", "primary-300m", T0, "codex", utilization=0.25)])
    latest = store.latest_readings()
    assert [(r.provider, r.window, r.remaining, r.utilization) for r in latest] == [
        ("codex", "primary-300m", None, 0.25),
        ("openai", "requests", 70, None),
        ("openai", "tokens", 7000, None),
    ]
    assert store.latest_readings(provider="codex")[0].used_fraction == 0.25


def test_a_rate_limited_answer_without_windows_is_kept(store: QuotaStore) -> None:
    refused = QuotaSnapshot(provider="anthropic", observed_at=T0, status_code=429, retry_after=30.5)
    (reading,) = readings_of(refused)
    assert reading.window == RETRY_WINDOW and reading.exhausted
    store.save(refused)
    (stored,) = store.history(provider="anthropic")
    assert stored.reset_at == T0 + timedelta(seconds=30.5)
    assert (stored.status, stored.status_code, stored.retry_after) == ("rate_limited", 429, 30.5)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))


def test_upgrade_copies_the_old_latest_snapshots_into_readings(db_url: str) -> None:
    before = list(MIGRATIONS[: [m.NAME for m in MIGRATIONS].index("m0012_quota_readings")])
    windows = {
        "requests": {"limit": 500, "remaining": 499, "reset_at": (T0 + timedelta(seconds=1)).isoformat()},
        "unified-5h": {"utilization": 0.42, "status": "allowed"},
    }
    with open_ledger(db_url, migrations=before) as old, old.write() as conn:
        columns = "provider, observed_at, model, status_code, retry_after_ms, windows, headers"
        stored = json.dumps(windows)
        values = f"'anthropic', {to_micros(T0)}, 'claude-haiku-4-5', 200, NULL, '{stored}', '{{}}'"
        conn.exec_driver_sql(f"INSERT INTO provider_quotas ({columns}) VALUES ({values})")
    with open_ledger(db_url) as ledger:
        stored = SqlQuotaStore(ledger.engine).latest("anthropic")
        assert stored is not None and stored.account == "default" and stored.observed_at == T0
        assert stored.windows["requests"].remaining == 499
        assert stored.windows["requests"].reset_at == T0 + timedelta(seconds=1)
        assert stored.windows["unified-5h"].utilization == 0.42
        assert (stored.model, stored.status_code) == ("claude-haiku-4-5", 200)
