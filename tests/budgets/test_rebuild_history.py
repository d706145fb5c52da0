"""Rebuilds and derivations count all history: after retention folded old events into rollups, a `total`
budget still shows its full spend (new budget, `rebuild`, Redis that lost its data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from budget_helpers import PRICING, Clock, MakeWarden, call

from costwarden.budgets import BudgetEngine, SavedBudget
from costwarden.budgets.status import budget_status
from costwarden.config import RetentionConfig
from costwarden.core.usage import Attribution
from costwarden.errors import BudgetExceeded
from costwarden.reports.retention import apply_retention
from costwarden.storage.ledger import EventQuery
from costwarden.storage.sql.rollup_store import RollupStore
from costwarden.warden import Warden

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def engine_of(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def spent(warden: Warden, budget_id: str) -> Decimal:
    rows = [
        r for r in budget_status(engine_of(warden), NOW) if r.policy.id == budget_id and r.dimension == "cost"
    ]
    return sum((Decimal(r.spent) for r in rows), Decimal(0)) / Decimal(10**10)


def folded(budget_backend: str, make_warden: MakeWarden) -> Warden:
    """$1.00 spent over 200 days (five $0.20 calls, four of them old), then `maintain` folds old events."""
    if budget_backend == "memory":
        pytest.skip("an in-memory ledger keeps every event")
    clock = Clock(NOW)
    budgets = [{"id": "forever", "period": "total", "cost_usd": "1.10"}]
    warden = make_warden(clock=clock, pricing=PRICING, budgets=budgets)
    for days, project in ((200, "web"), (150, "api"), (120, "web"), (100, "web"), (1, "web")):
        warden.record(
            provider="cloud",
            model="big",
            input_tokens=100,
            output_tokens=100,
            occurred_at=NOW - timedelta(days=days),
            project=project,
        )
    store = RollupStore(warden.ledger.engine)  # type: ignore[attr-defined]
    apply_retention(store, RetentionConfig(detailed_days=30, daily_days=90), now=NOW, tz=ZoneInfo("UTC"))
    assert len(list(warden.ledger.events(EventQuery()))) == 1  # four events live on in rollups only
    return warden


def test_rebuild_after_maintain_keeps_the_total(budget_backend: str, make_warden: MakeWarden) -> None:
    warden = folded(budget_backend, make_warden)
    assert spent(warden, "forever") == Decimal("1.00")
    assert engine_of(warden).rebuild() > 0
    assert spent(warden, "forever") == Decimal("1.00")
    with pytest.raises(BudgetExceeded):
        warden.admit(call())  # $0.20 more would pass $1.10


def test_new_budget_after_maintain_counts_folded_history(
    budget_backend: str, make_warden: MakeWarden
) -> None:
    warden = folded(budget_backend, make_warden)
    records = engine_of(warden).records
    assert records is not None
    records.save_budget(
        SavedBudget(
            "web-total",
            {"id": "web-total", "scope": "project", "value": "web", "period": "total", "cost_usd": "0.90"},
        )
    )
    engine_of(warden)._version_checked = 0.0
    assert spent(warden, "web-total") == Decimal("0.80")
    with pytest.raises(BudgetExceeded):
        warden.admit(call(attribution=Attribution(project="web")))
    warden.admit(call(input_tokens=10, max_tokens=10, attribution=Attribution(project="api")))


def test_redis_that_lost_its_data_rebuilds_the_folded_total(
    budget_backend: str, make_warden: MakeWarden
) -> None:
    if budget_backend != "redis":
        pytest.skip("Redis only")
    warden = folded(budget_backend, make_warden)
    assert spent(warden, "forever") == Decimal("1.00")
    engine_of(warden).store.flush()  # type: ignore[attr-defined]
    with pytest.raises(BudgetExceeded):
        warden.admit(call())
    assert spent(warden, "forever") == Decimal("1.00")
