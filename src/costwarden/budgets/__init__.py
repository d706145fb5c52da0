"""Budgets that hold under concurrency: the engine the Warden admits and settles calls with, its storage
protocols and the alert hand-off. See docs/budgets.md."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from costwarden.budgets.alerts import AlertHub, CallbackNotifier, LogNotifier, Notifier
from costwarden.budgets.engine import BudgetEngine, RunSlot
from costwarden.clock import SYSTEM_CLOCK
from costwarden.core.channels import LogChannelConfig
from costwarden.storage.budgets import AlertRecord, BudgetRecords, CounterStore, SavedBudget

if TYPE_CHECKING:
    from costwarden.clock import Clock
    from costwarden.config import Settings
    from costwarden.core.calls import CallRequest
    from costwarden.core.policy import Names
    from costwarden.storage.backend import Backend

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
    backend: Backend,
    worst_case: Callable[[CallRequest, str, str], Decimal],
    *,
    clock: Clock | None = None,
    names: Names | None = None,
) -> BudgetEngine | None:
    """The engine for `settings` over `backend`: counters in its database (or Redis when `redis_url` is
    set), budgets from config and from the CLI. None for a backend in memory without budgets. `clock` is
    the engine's "now" (default: the system clock); `names` gives the canonical provider and model budgets
    match calls by (`PriceBook.canonical`)."""
    from costwarden.quotas.rate_limits import rate_limit_budgets

    budgets = [*settings.budgets, *rate_limit_budgets(settings.rate_limits)]
    if not backend.durable and not budgets:
        return None
    stores = backend.budget_stores()
    counters, records = stores.counters, stores.records
    notifiers: list[Notifier] = [
        LogNotifier(c.level) for c in settings.alerts.channels if isinstance(c, LogChannelConfig)
    ]
    from costwarden.notify.postbox import postbox_for

    outgoing = postbox_for(settings.alerts, backend.outbox)
    from costwarden.core.routing import ProviderRegistry

    engine = BudgetEngine(
        store=counters,
        records=records,
        worst_case=worst_case,
        budgets=budgets,
        registry=ProviderRegistry(settings.providers),
        alerts=settings.alerts,
        admission=settings.admission,
        tz=settings.tz,
        default_max_tokens=settings.estimation.default_max_tokens,
        hub=AlertHub(records, notifiers, outgoing),
        ledger=backend.ledger,
        rollups=backend.rollups,
        clock=clock if clock is not None else SYSTEM_CLOCK,
        names=names,
    )
    if stores.redis is not None:
        stores.redis.rebuild_counters = engine.rebuild  # Redis lost its data: recount from the ledger
    return engine
