"""Budgets that hold under concurrency: the engine the Warden admits and settles calls with, its storage
protocols and the alert hand-off. See docs/budgets.md."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from costwarden.budgets.alerts import AlertHub, CallbackNotifier, LogNotifier, Notifier
from costwarden.budgets.engine import BudgetEngine, RunSlot
from costwarden.budgets.store import AlertRecord, BudgetRecords, CounterStore, SavedBudget
from costwarden.clock import SYSTEM_CLOCK

if TYPE_CHECKING:
    from costwarden.clock import Clock
    from costwarden.config import Settings
    from costwarden.core.calls import CallRequest
    from costwarden.core.policy import Names
    from costwarden.ledger.base import Ledger

__all__ = [
    "AlertHub",
    "AlertRecord",
    "BudgetEngine",
    "BudgetRecords",
    "CallbackNotifier",
    "CounterStore",
    "LogNotifier",
    "Notifier",
    "RunSlot",
    "SavedBudget",
    "build_engine",
]


def build_engine(
    settings: Settings,
    ledger: Ledger,
    worst_case: Callable[[CallRequest, str, str], Decimal],
    *,
    clock: Clock | None = None,
    names: Names | None = None,
) -> BudgetEngine | None:
    """The engine for `settings` over `ledger`: counters in the ledger's database (or Redis when
    `redis_url` is set), budgets from config and from the CLI. None for an in-memory ledger without
    budgets. `clock` is the engine's "now" (default: the system clock); `names` gives the canonical
    provider and model budgets match calls by (`PriceBook.canonical`)."""
    from costwarden.ledger.budget_memory import MemoryBudgetStore

    counters: CounterStore
    records: BudgetRecords
    if hasattr(ledger, "engine"):
        from costwarden.ledger.budget_store import SqlBudgetStore

        sql = SqlBudgetStore(ledger)  # type: ignore[arg-type]
        records = sql
        counters = sql
        if settings.redis_url:
            from costwarden.ledger.redis_counters import RedisCounterStore
            from costwarden.ledger.redis_fallback import FallbackCounterStore

            redis = RedisCounterStore(settings.redis_url, ledger, journal=sql)
            counters = FallbackCounterStore(redis, sql)
    elif settings.budgets:
        memory = MemoryBudgetStore(ledger)
        counters = records = memory
    else:
        return None
    notifiers: list[Notifier] = [LogNotifier(c.level) for c in settings.alerts.channels if c.type == "log"]
    from costwarden.core.routing import ProviderRegistry

    engine = BudgetEngine(
        store=counters,
        records=records,
        worst_case=worst_case,
        budgets=settings.budgets,
        registry=ProviderRegistry(settings.providers),
        alerts=settings.alerts,
        admission=settings.admission,
        tz=settings.tz,
        default_max_tokens=settings.estimation.default_max_tokens,
        hub=AlertHub(records, notifiers),
        ledger=ledger,
        clock=clock if clock is not None else SYSTEM_CLOCK,
        names=names,
    )
    redis_store = getattr(counters, "redis", None)
    if redis_store is not None:
        redis_store.rebuild_counters = engine.rebuild  # Redis lost its data: recount from the ledger
    return engine
