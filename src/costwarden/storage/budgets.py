"""What the budget engine asks of storage: counters and reservations (`CounterStore`), and the records
that are not hot (`BudgetRecords`: budgets set from the CLI, the alert feed, the exhaustion audit).

Backends: `ledger.budget_store.SqlBudgetStore` (SQLite, PostgreSQL; both protocols),
`ledger.redis_counters.RedisCounterStore` (counters only; records stay in SQL) and
`ledger.budget_memory.MemoryBudgetStore` (the in-process test double; both protocols).

Every `reserve` is all or nothing: either each need's amounts are added to its counter's `reserved` and the
reservation is stored, or nothing changes and every enforcing need that does not fit is returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from costwarden.core.admission import Amounts, CounterState, Need, Shortfall
from costwarden.core.policy import Applied
from costwarden.core.usage import UsageEvent

if TYPE_CHECKING:
    from costwarden.storage.outbox import NewDelivery

__all__ = [
    "Hold",
    "Reservation",
    "ReserveResult",
    "Spend",
    "Counted",
    "AlertRecord",
    "Acknowledgement",
    "SavedBudget",
    "CounterStore",
    "BudgetRecords",
    "BudgetStores",
    "RebuildsCounters",
    "SpendsFor",
    "Derive",
    "Settling",
    "encode_holds",
    "decode_holds",
]


@dataclass(frozen=True, slots=True)
class Hold:
    """Amounts held on one counter by a reservation."""

    key: str
    amounts: Amounts


@dataclass(frozen=True, slots=True)
class Reservation:
    """A call's (or a run's) hold on every applicable counter, until settled, released or expired."""

    id: str
    holds: tuple[Hold, ...]
    deadline: float
    """Epoch seconds after which the reservation may be reclaimed (its process is presumed dead)."""
    pid: int
    host: str
    kind: str = "call"
    label: str = ""
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class ReserveResult:
    """`ok`: reserved. Else `shortfalls` holds every enforcing need that did not fit (nothing was reserved).

    `over` lists warn-only needs already over their limit (the call proceeds, with a notice).
    """

    ok: bool
    shortfalls: tuple[Shortfall, ...] = ()
    over: tuple[Shortfall, ...] = ()


@dataclass(frozen=True, slots=True)
class Spend:
    """Real usage counted on one counter (negative amounts undo an older snapshot of the same event).

    `applied` and `window_keys` (the counters of the window the spend falls in) let the engine find the
    thresholds a spend crosses.
    """

    key: str
    amounts: Amounts
    applied: Applied | None = None
    period_key: str = ""
    window_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Counted:
    """A spend as applied: the counter's spent amounts before it."""

    spend: Spend
    before: Amounts


SpendsFor = Callable[[UsageEvent, "UsageEvent | None"], Sequence[Spend]]
"""Given an event as stored and the older snapshot it replaced (None for a new id), the spends to count."""


Derive = Callable[[Sequence[str]], Mapping[str, Amounts]]
"""Given period instance keys, the spent amounts the ledger holds on each counter of one budget in them."""


@dataclass(slots=True)
class Settling:
    """A settlement in progress on one thread: what a ledger write hook needs, and what it found."""

    reservation_id: str | None
    events: Mapping[str, UsageEvent]
    spends_for: SpendsFor
    taken: bool = False
    """The reservation was dropped in the append's transaction."""
    lost: bool = False
    """The counters were gone (a Redis that lost its data): the rebuild counts this settlement."""
    unreachable: BaseException | None = None
    """Redis could not be reached while counting: the append went on uncounted (see `redis_fallback`)."""
    counted: list[Counted] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Someone saw an alert: when, who (an API key's name and id, or the login of a CLI user) and a note."""

    at: datetime
    by: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One entry of the alert feed: a threshold crossing (`kind="threshold"`, once per budget, scope,
    period, dimension and threshold) or an exhaustion (`kind` = block, terminate_run, queue_timeout,
    fallback, warn)."""

    kind: str
    at: datetime
    budget_id: str
    scope: str
    period_key: str
    dimension: str
    level: str
    message: str
    limit: int = 0
    spent: int = 0
    reserved: int = 0
    requested: int = 0
    threshold: str | None = None
    resets_at: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    acknowledged: Acknowledgement | None = None
    """Set once someone acknowledged the alert (`BudgetRecords.acknowledge`)."""

    @property
    def dedupe(self) -> str | None:
        """The uniqueness key: a threshold alert is recorded once per budget, scope, period, dimension and
        threshold, a warn-only budget's overrun once per period; other exhaustions every time (None)."""
        if self.kind == "threshold":
            return f"{self.budget_id}|{self.scope}|{self.period_key}|{self.dimension}|{self.threshold}"
        if self.kind == "warn":
            return f"{self.budget_id}|{self.scope}|{self.period_key}|{self.dimension}|warn"
        return None

    def details_json(self) -> str:
        return json.dumps(dict(self.details), sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class SavedBudget:
    """A budget set from the CLI: its id and the config mapping (as in `budgets:`)."""

    id: str
    definition: Mapping[str, Any]
    updated: float = 0.0


class CounterStore(Protocol):
    """Counters and reservations. Implementations are safe across threads (and processes, where shared)."""

    def reserve(self, reservation: Reservation, needs: Sequence[Need]) -> ReserveResult:
        """Atomically hold `reservation.holds` if every enforcing need fits, else change nothing."""
        ...

    def settle(
        self, reservation_id: str | None, events: Sequence[UsageEvent], spends_for: SpendsFor
    ) -> list[Counted]:
        """Append `events` to the ledger, drop the reservation (if still held) and count the spends of each
        event that was new or replaced an older snapshot — in one transaction where the backend allows."""
        ...

    def release(self, reservation_id: str) -> bool:
        """Drop a reservation without spending; False when it was no longer held."""
        ...

    def held(self, reservation_id: str) -> bool:
        """Whether a reservation is held now (not settled, released or reclaimed; an expired one not yet
        reclaimed is still held)."""
        ...

    def reclaim(self, now: float) -> int:
        """Drop reservations whose deadline passed; return how many."""
        ...

    def states(self, keys: Sequence[str]) -> dict[str, CounterState]:
        """Current counters (missing ones are absent from the result)."""
        ...

    def counters(self, budget_id: str) -> dict[str, CounterState]:
        """Every counter of one budget (all scopes and periods stored)."""
        ...

    def terminate(self, key: str) -> None:
        """Mark a per-run counter terminated: every later need on it is refused."""
        ...

    def reservations(self) -> list[Reservation]:
        """Every reservation held now (expired ones included until reclaimed)."""
        ...

    def underived(self, budget_id: str, fingerprint: str, periods: Sequence[str]) -> list[str]:
        """The period instances of `periods` whose counters of `budget_id` are not derived under
        `fingerprint` yet. Only reads: never waits for a writer."""
        ...

    def derive(self, budget_id: str, fingerprint: str, periods: Sequence[str], compute: Derive) -> int:
        """Make the counters of `budget_id` in the period instances `periods` equal to the ledger: those
        not yet derived under `fingerprint` (the budget's definition) get their spent amounts replaced by
        `compute(missing)`, read while appends that count on them are held off, and are marked derived.
        Safe across processes: a period is derived once per fingerprint, an event appended meanwhile is
        counted once. Reservations stay. Returns how many periods were derived."""
        ...

    def derived_budgets(self) -> set[str]:
        """The ids of the budgets some period of which is recorded as derived (under any definition)."""
        ...

    def forget(self, budget_ids: Collection[str]) -> None:
        """Forget what was derived for `budget_ids` (every period, every definition): the next need of one
        derives it again. For budgets an event was appended without counting on (see
        `BudgetEngine.appending`); counters and reservations stay."""
        ...

    def rebuild(self, budget_ids: Sequence[str], compute: Callable[[], Mapping[str, Amounts]]) -> int:
        """Replace the spent amounts of every counter of `budget_ids` with `compute()` (read from the ledger
        while writers are held off where the backend allows) and forget what was derived for them (the
        next need derives again); reservations stay. Returns counters written."""
        ...

    def close(self) -> None: ...


class BudgetRecords(Protocol):
    """Budgets set from the CLI, the alert feed and the exhaustion audit."""

    def saved_budgets(self) -> list[SavedBudget]: ...

    def budgets_version(self) -> str:
        """Changes whenever a saved budget is added, changed or removed (cheap to poll)."""
        ...

    def save_budget(self, budget: SavedBudget) -> None: ...

    def remove_budget(self, budget_id: str) -> bool: ...

    def alert_thresholds(self) -> list[dict[str, Any]]:
        """Thresholds set with `costwarden alert set --threshold/--amount` (mappings: `budget` (None: every
        budget), `percent` or `amount_usd`, `level`)."""
        ...

    def save_alert_thresholds(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Replace them (and change `budgets_version`, so engines compile their budgets again)."""
        ...

    def add_alert(self, alert: AlertRecord, deliveries: Sequence[NewDelivery] = ()) -> AlertRecord | None:
        """Store an alert; a threshold alert already stored returns None (each crossing is recorded once).
        `deliveries`: its outbox rows, written in the same transaction (a store without an outbox refuses
        them)."""
        ...

    def alerts(
        self,
        *,
        limit: int = 50,
        kinds: Sequence[str] | None = None,
        budget_id: str | None = None,
        acknowledged: bool | None = None,
    ) -> list[AlertRecord]:
        """The feed, newest first; `acknowledged`: only those acknowledged (True) or not (False)."""
        ...

    def alert(self, alert_id: int) -> AlertRecord | None:
        """One alert of the feed by id (None: no such alert)."""
        ...

    def acknowledge(self, alert_id: int, ack: Acknowledgement) -> AlertRecord | None:
        """Record `ack` on an alert unless it was acknowledged already (the first acknowledgement is kept);
        the alert as it now stands, or None when there is no such alert."""
        ...

    def close(self) -> None: ...


class RebuildsCounters(Protocol):
    """Counters that can lose their data (Redis): they call `rebuild_counters` to recount from the ledger."""

    rebuild_counters: Callable[[], int] | None


@dataclass(frozen=True, slots=True)
class BudgetStores:
    """Where the budget engine keeps its counters and its records."""

    counters: CounterStore
    records: BudgetRecords
    redis: RebuildsCounters | None = None
    """The Redis counters behind `counters` (None when the counters are not in Redis)."""


def encode_holds(holds: Sequence[Hold]) -> str:
    """Compact text form of a reservation's holds (one line per counter)."""
    return "\n".join(
        f"{h.key}\t{h.amounts.cost}\t{h.amounts.tokens}\t{h.amounts.requests}\t{h.amounts.concurrent}"
        for h in holds
    )


def decode_holds(text: str) -> tuple[Hold, ...]:
    out: list[Hold] = []
    for line in text.split("\n"):
        if not line:
            continue
        key, cost, tokens, requests, concurrent = line.rsplit("\t", 4)
        out.append(Hold(key, Amounts(int(cost), int(tokens), int(requests), int(concurrent))))
    return tuple(out)
