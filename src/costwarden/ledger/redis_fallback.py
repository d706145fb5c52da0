"""Redis counters with the SQL counters as their fallback: a Redis outage never loses a ledger event and
never stops admission.

Events always go to the SQL ledger first. Redis counts a settlement inside the append's transaction (so a
rebuild, which holds appends off, never misses or doubles one); when Redis cannot be reached there, the
append still commits and the store switches to the SQL counters (`SqlBudgetStore` on the same database):

- the SQL counters are derived from the ledger again for this outage (derivation fingerprints carry an
  outage id), so they count every event, those appended while Redis was failing included;
- this process's reservations held in Redis are held in SQL too (`SqlBudgetStore.hold`), so calls in
  flight keep their room; admissions, settlements, releases, status and rebuilds use SQL meanwhile;
- Redis is probed again at most every `retry` seconds. When it answers, its counters are rebuilt from the
  ledger (they missed the outage), the reservations this process took or moved to SQL are held in Redis
  again and released in SQL, and the Redis holds of calls settled or released meanwhile are dropped.

Admission on SQL during an outage is as sound as with SQL counters alone (one transaction per decision),
so there is no fail-open or fail-closed policy to choose. What one process cannot know is what another
process holds in Redis when it fails: a call another process admitted on Redis and settles later is
counted when it settles, not held meanwhile (the same holds after a Redis restart for processes that have
not yet admitted since; each holds its calls in flight again at its next admission).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from costwarden.budgets.store import Counted, Derive, Reservation, ReserveResult, SpendsFor
from costwarden.core.admission import Amounts, CounterState, Need
from costwarden.core.usage import UsageEvent
from costwarden.ledger.budget_store import SqlBudgetStore
from costwarden.ledger.redis_counters import RedisCounterStore, RedisUnreachable

__all__ = ["FallbackCounterStore"]

_T = TypeVar("_T")
_log = logging.getLogger("costwarden.budgets")


class FallbackCounterStore:
    """`CounterStore` on Redis, on `sql` while Redis is unreachable (see the module docstring)."""

    def __init__(self, redis: RedisCounterStore, sql: SqlBudgetStore, *, retry: float = 1.0) -> None:
        self.redis = redis
        self.sql = sql
        self.retry = retry
        self.generation = 0
        """Changes whenever the store switches between Redis and SQL (the engine derives again)."""
        redis.fallback = True
        self._errors: tuple[type[BaseException], ...] = (RedisUnreachable, *redis.unreachable)
        self._down = False
        self._retry_at = 0.0
        self._outage = ""
        self._in_sql: set[str] = set()
        self._orphans: set[str] = set()
        self._lock = threading.RLock()

    @property
    def down(self) -> bool:
        """True while the SQL counters are in use."""
        return self._down

    # -- switching ---------------------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if not self._down:
                self._down = True
                self._outage = uuid.uuid4().hex[:12]
                self.generation += 1
                _log.warning(
                    "Redis budget counters unreachable (%s): admitting on the SQL counters until it returns",
                    exc,
                )
            self._retry_at = time.monotonic() + self.retry

    def _up(self) -> bool:
        if not self._down:
            return True
        if time.monotonic() < self._retry_at:
            return False
        with self._lock:
            if self._switched_back():
                return True
            self._retry_at = time.monotonic() + self.retry
            try:
                self.redis.client.ping()
            except self.redis.unreachable:
                return False
            self._down = False
            try:
                self._back()
            except self._errors as exc:
                self._fail(exc)
                return False
            self.generation += 1
            _log.warning("Redis budget counters reachable again: counters rebuilt from the ledger")
            return True

    def _switched_back(self) -> bool:
        """Another thread brought Redis back while this one waited for the lock."""
        return not self._down

    def _back(self) -> None:
        """Bring Redis in step: rebuild its counters (they missed the outage), hold again in Redis what
        this process holds in SQL, drop the Redis holds of calls settled or released meanwhile."""
        redis = self.redis
        redis.client.delete(redis.prefix + "epoch")
        redis._recover()
        held = {r.id: r for r in self.sql.reservations()}
        for reservation_id in list(self._in_sql):
            reservation = held.get(reservation_id)
            if reservation is not None:
                redis.hold(reservation)
                self.sql.release(reservation_id)
            self._orphans.discard(reservation_id)
            self._in_sql.discard(reservation_id)
        for reservation_id in list(self._orphans):
            redis.release(reservation_id)
            self._orphans.discard(reservation_id)

    def _move_open(self) -> None:
        """Hold in SQL the reservations this process holds in Redis (once per outage)."""
        with self._lock:
            for reservation_id, (_, reservation) in list(self.redis.open.items()):
                self.sql.hold(reservation)
                self._in_sql.add(reservation_id)
                self._orphans.add(reservation_id)
                del self.redis.open[reservation_id]

    def _either(self, on_redis: Callable[[], _T], on_sql: Callable[[], _T]) -> _T:
        if self._up():
            try:
                return on_redis()
            except self._errors as exc:
                self._fail(exc)
        self._move_open()
        return on_sql()

    # -- CounterStore ------------------------------------------------------------------------------------

    def reserve(self, reservation: Reservation, needs: Sequence[Need]) -> ReserveResult:
        def on_sql() -> ReserveResult:
            result = self.sql.reserve(reservation, needs)
            if result.ok:
                self._in_sql.add(reservation.id)
            return result

        return self._either(lambda: self.redis.reserve(reservation, needs), on_sql)

    def settle(
        self, reservation_id: str | None, events: Sequence[UsageEvent], spends_for: SpendsFor
    ) -> list[Counted]:
        if self._up() and (reservation_id is None or reservation_id not in self._in_sql):
            try:
                return self.redis.settle(reservation_id, events, spends_for)
            except self._errors as exc:
                # the append committed (Redis counts inside it and never rolls it back): the SQL counters,
                # derived for this outage, count it; the Redis hold is dropped when Redis returns
                self._fail(exc)
                if reservation_id is not None:
                    self.redis.open.pop(reservation_id, None)
                    self._orphans.add(reservation_id)
                return []
        self._move_open()
        held = None
        if reservation_id is not None:
            if reservation_id in self._in_sql:
                held = reservation_id
                self._in_sql.discard(reservation_id)
            else:
                self._orphans.add(reservation_id)
        return self.sql.settle(held, events, spends_for)

    def release(self, reservation_id: str) -> bool:
        if reservation_id in self._in_sql:
            self._in_sql.discard(reservation_id)
            return self.sql.release(reservation_id)

        def on_sql() -> bool:
            self._in_sql.discard(reservation_id)
            self._orphans.add(reservation_id)
            return self.sql.release(reservation_id)

        return self._either(lambda: self.redis.release(reservation_id), on_sql)

    def reclaim(self, now: float) -> int:
        return self._either(lambda: self.redis.reclaim(now), lambda: self.sql.reclaim(now))

    def states(self, keys: Sequence[str]) -> dict[str, CounterState]:
        return self._either(lambda: self.redis.states(keys), lambda: self.sql.states(keys))

    def counters(self, budget_id: str) -> dict[str, CounterState]:
        return self._either(lambda: self.redis.counters(budget_id), lambda: self.sql.counters(budget_id))

    def terminate(self, key: str) -> None:
        self._either(lambda: self.redis.terminate(key), lambda: self.sql.terminate(key))

    def reservations(self) -> list[Reservation]:
        return self._either(self.redis.reservations, self.sql.reservations)

    def derive(self, budget_id: str, fingerprint: str, periods: Sequence[str], compute: Derive) -> int:
        return self._either(
            lambda: self.redis.derive(budget_id, fingerprint, periods, compute),
            lambda: self.sql.derive(budget_id, f"{fingerprint}@{self._outage}", periods, compute),
        )

    def rebuild(self, budget_ids: Sequence[str], compute: Callable[[], Mapping[str, Amounts]]) -> int:
        return self._either(
            lambda: self.redis.rebuild(budget_ids, compute), lambda: self.sql.rebuild(budget_ids, compute)
        )

    def flush(self) -> None:
        """Forget every Redis counter and reservation of this namespace (tests)."""
        self.redis.flush()

    def close(self) -> None:
        self.redis.close()
