"""Deriving counters inside a report's pinned snapshot still counts every commit: an append committed after
the snapshot began is in the derived counters (else it would be lost from them for the whole period)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from budget_helpers import PRICING, Clock, MakeWarden

from costwarden.budgets import BudgetEngine, SavedBudget
from costwarden.budgets.status import budget_status
from costwarden.storage.ledger import EventQuery
from costwarden.warden import Warden

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _engine(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def _record(warden: Warden, at: datetime) -> None:
    warden.record(provider="cloud", model="big", input_tokens=100, output_tokens=100, occurred_at=at)


def test_derivation_inside_a_snapshot_sees_later_commits(make_warden: MakeWarden) -> None:
    clock = Clock(NOW)
    reader = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "other", "period": "day", "cost_usd": 9}]
    )
    writer = make_warden(
        clock=clock, pricing=PRICING, budgets=[{"id": "other", "period": "day", "cost_usd": 9}]
    )
    _record(writer, NOW - timedelta(hours=3))  # $0.20
    snapshot = getattr(reader.ledger, "snapshot", None)
    if snapshot is None:  # the in-memory ledger has one moment only
        return
    with snapshot():
        assert reader.ledger.totals(EventQuery())[0].events == 1  # the snapshot begins here
        _record(writer, NOW - timedelta(hours=2))  # committed after it: $0.20
        records = _engine(reader).records
        assert records is not None
        records.save_budget(SavedBudget("monthly", {"id": "monthly", "period": "month", "cost_usd": "5"}))
        _engine(reader)._version_checked = 0.0
        rows = [
            r
            for r in budget_status(_engine(reader), NOW)
            if r.policy.id == "monthly" and r.dimension == "cost"
        ]
        assert reader.ledger.totals(EventQuery())[0].events == 1  # still the snapshot
    assert sum(Decimal(r.spent) for r in rows) / Decimal(10**10) == Decimal("0.40")
