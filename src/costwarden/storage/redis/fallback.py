"""Redis counters with the SQL counters as their fallback: a Redis outage never loses a ledger event and
never stops admission.

Events always go to the SQL ledger first. Redis counts a settlement inside the append's transaction (so a
rebuild, which holds appends off, never misses or doubles one); when Redis cannot be reached there, the
append still commits and the store switches to the SQL counters (`SqlBudgetStore` on the same database):

- the SQL counters are derived from the ledger again for this outage (derivation fingerprints carry an
  outage id), so they count every event, those appended while Redis was failing included;
- every reservation held in Redis, by any process, is a row of the reservation journal
  (`budget_reservations`, see `redis_counters`); the rows only recorded there are held on the SQL
  counters (`SqlBudgetStore.count_recorded`) when this process switches, and again before each of its
  admissions (a process that has not yet noticed the outage may record more), so calls in flight keep
  their room; admissions, settlements, releases, status and rebuilds use SQL meanwhile;
- Redis is probed again at most every `retry` seconds. When it answers, its counters are rebuilt from the
  ledger (they missed the outage) and the reservations it holds are made those of the journal: every
  call in flight is held again, whichever process admitted it and on which counters, and the holds of
  calls settled or released meanwhile are dropped.

A reservation is counted once on each set of counters: a journal row says whether its holds are on the
SQL counters, and dropping it (settle, release, reclaim, on either path) takes them off only then.

Admission on SQL during an outage is as sound as with SQL counters alone (one transaction per decision),
so there is no fail-open or fail-closed policy to choose. What it cannot prevent is a split: processes
that still reach Redis while others cannot decide on two sets of counters until they all agree again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TypeVar

from costwarden.core.admission import Amounts, CounterState, Need
from costwarden.core.usage import UsageEvent
from costwarden.forking import ForkSafeLock
from costwarden.storage.budgets import Counted, Derive, Reservation, ReserveResult, SpendsFor
from costwarden.storage.redis.counters import RedisCounterStore, RedisUnreachable
from costwarden.storage.sql.budget_store import SqlBudgetStore

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
        self._recount = False
        self._lock = ForkSafeLock(reentrant=True)

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
                self._recount = True
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
        """Bring Redis in step: rebuild its counters (they missed the outage) and hold in it the calls in
        flight the journal records, dropping the holds of calls settled or released meanwhile."""
        redis = self.redis
        redis.client.delete(redis.prefix + "epoch")
        redis._recover()

    def _counted_in_sql(self, *, admitting: bool = False) -> None:
        """Hold on the SQL counters the reservations only recorded in the journal: once an outage begins,
        and before every admission during it."""
        if admitting or self._recount:
            self._recount = False
            self.sql.count_recorded()

    def _either(self, on_redis: Callable[[], _T], on_sql: Callable[[], _T]) -> _T:
        if self._up():
            try:
                return on_redis()
            except self._errors as exc:
                self._fail(exc)
        self._counted_in_sql()
        return on_sql()

    # -- CounterStore ------------------------------------------------------------------------------------

    def reserve(self, reservation: Reservation, needs: Sequence[Need]) -> ReserveResult:
        def on_sql() -> ReserveResult:
            self._counted_in_sql(admitting=True)
            return self.sql.reserve(reservation, needs)

        return self._either(lambda: self.redis.reserve(reservation, needs), on_sql)

    def settle(
        self, reservation_id: str | None, events: Sequence[UsageEvent], spends_for: SpendsFor
    ) -> list[Counted]:
        if self._up():
            try:
                return self.redis.settle(reservation_id, events, spends_for)
            except self._errors as exc:
                # the append committed with the journal row dropped (Redis counts inside it and never
                # rolls it back): the SQL counters, derived for this outage, count it; a Redis hold left
                # behind is dropped when Redis returns
                self._fail(exc)
                return []
        self._counted_in_sql()
        return self.sql.settle(reservation_id, events, spends_for)

    def release(self, reservation_id: str) -> bool:
        return self._either(
            lambda: self.redis.release(reservation_id), lambda: self.sql.release(reservation_id)
        )

    def held(self, reservation_id: str) -> bool:
        return self.sql.held(reservation_id)  # the journal: every reservation, on either set of counters

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

    def underived(self, budget_id: str, fingerprint: str, periods: Sequence[str]) -> list[str]:
        return self._either(
            lambda: self.redis.underived(budget_id, fingerprint, periods),
            lambda: self.sql.underived(budget_id, f"{fingerprint}@{self._outage}", periods),
        )

    def derive(self, budget_id: str, fingerprint: str, periods: Sequence[str], compute: Derive) -> int:
        return self._either(
            lambda: self.redis.derive(budget_id, fingerprint, periods, compute),
            lambda: self.sql.derive(budget_id, f"{fingerprint}@{self._outage}", periods, compute),
        )

    def derived_budgets(self) -> set[str]:
        return self._either(self.redis.derived_budgets, self.sql.derived_budgets)

    def forget(self, budget_ids: Collection[str]) -> None:
        self._either(lambda: self.redis.forget(budget_ids), lambda: self.sql.forget(budget_ids))

    def rebuild(self, budget_ids: Sequence[str], compute: Callable[[], Mapping[str, Amounts]]) -> int:
        return self._either(
            lambda: self.redis.rebuild(budget_ids, compute), lambda: self.sql.rebuild(budget_ids, compute)
        )

    def flush(self) -> None:
        """Forget every Redis counter and reservation of this namespace (tests)."""
        self.redis.flush()

    def close(self) -> None:
        self.redis.close()
