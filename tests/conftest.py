"""Shared fixtures.

- `_isolated_env` (autouse): no `COSTWARDEN_*` variable leaks in, and HOME / XDG config, data, cache and
  state dirs point into a fresh temporary directory, so no test reads or writes the user's files.
- `sqlite_url`: a SQLite ledger URL in the test's temporary directory (the file does not exist yet).
- `pg_url`: a PostgreSQL URL whose `search_path` is a fresh schema, dropped after the test. PostgreSQL
  comes from `TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`); when it is not
  reachable the test is skipped, except under `CI=true`, where it fails.
- `redis_server`: the Redis URL, from `TEST_REDIS_URL` (default `redis://127.0.0.1:6379/0`); skipped or
  failed like PostgreSQL.
- `ledger`: the ledger, once per backend: `sqlite`, `postgres`, `memory`.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from costwarden.ledger import Ledger, MemoryLedger


def _sleep_by_waiting(seconds: float) -> None:
    threading.Event().wait(seconds)


UNDER_FAKETIME = "faketime" in os.environ.get("LD_PRELOAD", "")

if UNDER_FAKETIME:
    # Under Debian's libfaketime 0.9.10 run with FAKETIME_DONT_FAKE_MONOTONIC=1 (it must be: with a faked
    # monotonic clock every timed lock wait sleeps for the whole date offset), Python's time.sleep fails
    # with EINVAL (its absolute clock_nanosleep is mistranslated); a timed wait sleeps correctly.
    time.sleep = _sleep_by_waiting


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under libfaketime (0.9.10), a child forked while another thread is inside one of its wrappers hangs
    before any Python runs: its `pthread_cond_init` wrapper waits for an internal lock the other thread held
    at the fork (gdb on the child: libfaketime `pthread_cond_init` <- `recreate_gil` <-
    `PyOS_AfterFork_Child`). The tests that fork beside running threads are left out there."""
    if not UNDER_FAKETIME:
        return
    skip = pytest.mark.skip(reason="libfaketime is not fork-safe (a forked child hangs inside os.fork())")
    for item in items:
        if item.get_closest_marker("forks_threads") is not None:
            item.add_marker(skip)


DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--system-now",
        default=None,
        help="move the system clock as costwarden sees it (costwarden.clock.SYSTEM_CLOCK) to this ISO-8601 "
        "datetime for the whole run, as faketime would (tests/test_boundary_dates.py uses it)",
    )


@pytest.fixture(autouse=True, scope="session")
def _system_now(request: pytest.FixtureRequest) -> Iterator[None]:
    """With `--system-now`, the system clock reads that date (and keeps ticking from it)."""
    value = request.config.getoption("--system-now")
    if not value:
        yield
        return
    from costwarden.clock import SystemClock, parse_now

    real_now, real_call = SystemClock.now, SystemClock.__call__
    offset = parse_now(value) - real_now(SystemClock())
    patch = pytest.MonkeyPatch()
    patch.setattr(SystemClock, "now", lambda self: real_now(self) + offset)
    patch.setattr(SystemClock, "__call__", lambda self: real_call(self) + offset.total_seconds())
    assert abs(SystemClock().now() - parse_now(value)).total_seconds() < 60
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    for name in list(os.environ):
        if name.startswith("COSTWARDEN_"):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    return home


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL server URL, checked once per session (skip locally / fail under CI if down)."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_URL)
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        message = f"PostgreSQL at {url} is not reachable: {exc}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The Redis URL (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379/0`), checked once per session: skipped
    locally, a failure under CI when Redis is down."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        message = f"Redis at {url} is not reachable: {exc}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL on a fresh schema (via `search_path`); the schema is dropped after the test."""
    import psycopg

    schema = f"cw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """An empty, migrated ledger on each backend."""
    if request.param == "memory":
        yield MemoryLedger()
        return
    from costwarden.storage.sql.ledger import open_ledger

    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    opened = open_ledger(url)
    try:
        yield opened
    finally:
        opened.close()
