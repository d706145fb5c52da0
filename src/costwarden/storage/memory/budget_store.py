"""In-memory budget storage: counters, reservations, saved budgets and the alert feed in one process.

The shipped test double (and the store used with a `MemoryLedger`): thread-safe, one lock, no persistence.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from costwarden.core.admission import ZERO, Amounts, CounterState, Need, Shortfall, combined, find_shortfall
from costwarden.core.usage import UsageEvent
from costwarden.errors import LedgerError
from costwarden.forking import ForkSafeLock
from costwarden.storage.budgets import (
    Acknowledgement,
    AlertRecord,
    Counted,
    Derive,
    Reservation,
    ReserveResult,
    SavedBudget,
    SpendsFor,
)
from costwarden.storage.ledger import AppendOutcome, Ledger
from costwarden.storage.outbox import NewDelivery

__all__ = ["MemoryBudgetStore"]


@dataclass(slots=True)
class _Counter:
    spent: Amounts = ZERO
    reserved: Amounts = ZERO
    terminated: bool = False

    def state(self) -> CounterState:
        return CounterState(self.spent, self.reserved, self.terminated)


@dataclass(slots=True)
class _Feed:
    items: list[AlertRecord] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


class MemoryBudgetStore:
    """`CounterStore` and `BudgetRecords` in memory. `ledger` receives the events settled through it."""

    def __init__(self, ledger: Ledger | None = None) -> None:
        self.ledger = ledger
        self._lock = ForkSafeLock()
        self._counters: dict[str, _Counter] = {}
        self._reservations: dict[str, Reservation] = {}
        self._derived: dict[tuple[str, str], str] = {}
        self._budgets: dict[str, SavedBudget] = {}
        self._version = 0
        self._thresholds: list[dict[str, Any]] = []
        self._feed = _Feed()
        self._ids = itertools.count(1)

    # -- counters ----------------------------------------------------------------------------------------

    def _states(self, keys: Sequence[str]) -> dict[str, CounterState]:
        return {k: c.state() for k in keys if (c := self._counters.get(k)) is not None}

    def reserve(self, reservation: Reservation, needs: Sequence[Need]) -> ReserveResult:
        with self._lock:
            keys = [k for need in needs for k in need.keys]
            states = self._states(keys)
            short: list[Shortfall] = []
            over: list[Shortfall] = []
            for need in needs:
                found = find_shortfall(need, combined(need.keys, states))
                if found is not None:
                    (short if need.enforce else over).append(found)
            if short:
                return ReserveResult(False, tuple(short), tuple(over))
            for hold in reservation.holds:
                counter = self._counters.setdefault(hold.key, _Counter())
                counter.reserved += hold.amounts
            self._reservations[reservation.id] = reservation
            return ReserveResult(True, (), tuple(over))

    def _drop(self, reservation_id: str) -> bool:
        reservation = self._reservations.pop(reservation_id, None)
        if reservation is None:
            return False
        for hold in reservation.holds:
            counter = self._counters.setdefault(hold.key, _Counter())
            counter.reserved -= hold.amounts
        return True

    def settle(
        self, reservation_id: str | None, events: Sequence[UsageEvent], spends_for: SpendsFor
    ) -> list[Counted]:
        counted: list[Counted] = []
        with self._lock:
            if reservation_id is not None:
                self._drop(reservation_id)
            for event in events:
                previous = None
                if self.ledger is not None:
                    known = getattr(self.ledger, "revision", None)  # MemoryLedger: a cheap "seen this id?"
                    if known is None or known(event.id) is not None:
                        previous = self.ledger.get(event.id)
                    outcome = self.ledger.append(event)
                    if outcome is AppendOutcome.UNCHANGED:
                        continue
                    if outcome is AppendOutcome.INSERTED:
                        previous = None
                for spend in spends_for(event, previous):
                    counter = self._counters.setdefault(spend.key, _Counter())
                    counted.append(Counted(spend, counter.spent))
                    counter.spent += spend.amounts
        return counted

    def release(self, reservation_id: str) -> bool:
        with self._lock:
            return self._drop(reservation_id)

    def held(self, reservation_id: str) -> bool:
        with self._lock:
            return reservation_id in self._reservations

    def reclaim(self, now: float) -> int:
        with self._lock:
            expired = [r.id for r in self._reservations.values() if r.deadline < now]
            for reservation_id in expired:
                self._drop(reservation_id)
            return len(expired)

    def states(self, keys: Sequence[str]) -> dict[str, CounterState]:
        with self._lock:
            return self._states(keys)

    def counters(self, budget_id: str) -> dict[str, CounterState]:
        prefix = f"{budget_id}|"
        with self._lock:
            return {k: c.state() for k, c in self._counters.items() if k.startswith(prefix)}

    def terminate(self, key: str) -> None:
        with self._lock:
            self._counters.setdefault(key, _Counter()).terminated = True

    def reservations(self) -> list[Reservation]:
        with self._lock:
            return list(self._reservations.values())

    def underived(self, budget_id: str, fingerprint: str, periods: Sequence[str]) -> list[str]:
        with self._lock:
            return [p for p in periods if self._derived.get((budget_id, p)) != fingerprint]

    def derive(self, budget_id: str, fingerprint: str, periods: Sequence[str], compute: Derive) -> int:
        with self._lock:  # settlements append under this lock: none runs while the ledger is read
            missing = [p for p in periods if self._derived.get((budget_id, p)) != fingerprint]
            if not missing:
                return 0
            spent = compute(missing)
            prefix, wanted = f"{budget_id}|", set(missing)
            for key, counter in self._counters.items():
                if key.startswith(prefix) and key.rpartition("|")[2] in wanted:
                    counter.spent = ZERO
            for key, amounts in spent.items():
                self._counters.setdefault(key, _Counter()).spent = amounts
            for period in missing:
                self._derived[(budget_id, period)] = fingerprint
            for stale in [k for k, v in self._derived.items() if k[0] == budget_id and v != fingerprint]:
                del self._derived[stale]  # derived under another definition: derive again when it returns
            return len(missing)

    def derived_budgets(self) -> set[str]:
        with self._lock:
            return {budget_id for budget_id, _ in self._derived}

    def forget(self, budget_ids: Collection[str]) -> None:
        with self._lock:
            for derived in [d for d in self._derived if d[0] in budget_ids]:
                del self._derived[derived]

    def rebuild(self, budget_ids: Sequence[str], compute: Callable[[], Mapping[str, Amounts]]) -> int:
        prefixes = tuple(f"{b}|" for b in budget_ids)
        with self._lock:
            for derived in [d for d in self._derived if d[0] in budget_ids]:
                del self._derived[derived]
            spent = compute()
            for key, counter in self._counters.items():
                if key.startswith(prefixes):
                    counter.spent = ZERO
            for key, amounts in spent.items():
                self._counters.setdefault(key, _Counter()).spent = amounts
            return len(spent)

    # -- records -----------------------------------------------------------------------------------------

    def saved_budgets(self) -> list[SavedBudget]:
        with self._lock:
            return sorted(self._budgets.values(), key=lambda b: b.id)

    def budgets_version(self) -> str:
        return str(self._version)

    def alert_thresholds(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in self._thresholds]

    def save_alert_thresholds(self, items: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self._thresholds = [dict(item) for item in items]
            self._version += 1

    def save_budget(self, budget: SavedBudget) -> None:
        with self._lock:
            self._budgets[budget.id] = budget
            self._version += 1

    def remove_budget(self, budget_id: str) -> bool:
        with self._lock:
            found = self._budgets.pop(budget_id, None) is not None
            self._version += found
            return found

    def add_alert(self, alert: AlertRecord, deliveries: Sequence[NewDelivery] = ()) -> AlertRecord | None:
        if deliveries:
            raise LedgerError("alert channels (webhook, Slack, email) need a database ledger (the outbox)")
        with self._lock:
            key = alert.dedupe
            if key is not None:
                if key in self._feed.seen:
                    return None
                self._feed.seen.add(key)
            stored = replace(alert, id=next(self._ids))
            self._feed.items.append(stored)
            return stored

    def alerts(
        self,
        *,
        limit: int = 50,
        kinds: Sequence[str] | None = None,
        budget_id: str | None = None,
        acknowledged: bool | None = None,
    ) -> list[AlertRecord]:
        with self._lock:
            items = [
                a
                for a in reversed(self._feed.items)
                if (kinds is None or a.kind in kinds)
                and (budget_id is None or a.budget_id == budget_id)
                and (acknowledged is None or (a.acknowledged is not None) == acknowledged)
            ]
            return items[:limit]

    def alert(self, alert_id: int) -> AlertRecord | None:
        with self._lock:
            return next((a for a in self._feed.items if a.id == alert_id), None)

    def acknowledge(self, alert_id: int, ack: Acknowledgement) -> AlertRecord | None:
        with self._lock:
            for index, item in enumerate(self._feed.items):
                if item.id != alert_id:
                    continue
                if item.acknowledged is not None:
                    return item
                acked = self._feed.items[index] = replace(item, acknowledged=ack)
                return acked
            return None

    def close(self) -> None:
        return None
