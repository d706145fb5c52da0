"""The Redis store's own script calls: scripts flushed from the server are loaded again, and a connection
that failed mid-call is replaced."""

from __future__ import annotations

import time

import pytest

from costwarden.core.admission import Amounts
from costwarden.storage.budgets import Hold, Reservation
from costwarden.storage.memory.ledger import MemoryLedger

pytestmark = pytest.mark.redis


def _reservation(rid: str) -> Reservation:
    return Reservation(rid, (Hold("b||total", Amounts(5, 0, 1)),), time.time() + 60, 1, "h")


def test_scripts_survive_a_script_flush_and_a_dropped_connection(redis_server: str) -> None:
    from costwarden.storage.redis.counters import RedisCounterStore

    store = RedisCounterStore(redis_server, MemoryLedger(), namespace=f"test-calls-{time.time_ns()}")
    try:
        store.flush()
        store.rebuild([], dict)
        assert store.reserve(_reservation("r1"), []).ok
        store.client.script_flush()
        assert store.release("r1") is True  # NOSCRIPT: loaded again, then run
        store._connection().disconnect()  # the connection dropped between calls
        assert store.reserve(_reservation("r3"), []).ok
        conn = store._connection()
        conn.send_command("CLIENT", "ID")
        store.client.client_kill_filter(_id=conn.read_response())  # the server closed it
        assert store.release("r3") is True
        assert store.reserve(_reservation("r2"), []).ok
        assert store.release("r2") is True
        assert store.release("r2") is False
    finally:
        store.flush()
        store.close()
