"""Forecast math on a constructed history: a steady burn projected to the reset, limits and windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from costwarden.core.policy import BudgetConfig, compile_policies
from costwarden.core.units import Unit
from costwarden.core.usage import UsageEvent
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.budget_view import budget_lines, budget_states
from costwarden.reports.forecast import Outlook, days_between, project, rate_window
from costwarden.storage.memory.ledger import MemoryLedger

from .history import priced

UTC_TZ = ZoneInfo("UTC")
NOW = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # 10 days into a 30-day month


def steady(ledger: MemoryLedger, per_day: int, days: int, project_name: str = "api") -> None:
    """`per_day` units of 10^-10 USD every day before NOW, in four calls a day."""
    events = []
    for d in range(1, days + 1):
        for q in range(4):
            at = NOW - timedelta(days=d) + timedelta(hours=6 * q)
            event = UsageEvent.create(
                provider="openai",
                model="gpt-5",
                id=f"d{d}-{q}-{project_name}",
                occurred_at=at,
                project=project_name,
                input_tokens=1000,
            )
            events.append(priced(event, per_day // 4))
    ledger.append_many(events)


def test_project_is_spent_plus_rate_times_days_left() -> None:
    p = project(
        spent=Decimal(100),
        recent_cost=Decimal(70),
        window_start=NOW - timedelta(days=7),
        now=NOW,
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        limit=Decimal(300),
    )
    assert p.rate_per_day == Decimal(10)
    assert p.days_left == Decimal(20)
    assert p.projected == Decimal(300)
    assert p.outlook is Outlook.WITHIN and p.overshoot == 0
    assert p.exhausted_at == datetime(2026, 12, 1, tzinfo=UTC)
    over = project(
        spent=Decimal(100),
        recent_cost=Decimal(84),
        window_start=NOW - timedelta(days=7),
        now=NOW,
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        limit=Decimal(300),
    )
    assert over.rate_per_day == Decimal(12) and over.projected == Decimal(340)
    assert over.outlook is Outlook.OVER and over.overshoot == Decimal(40)
    assert over.exhausted_at == NOW + timedelta(seconds=float(Decimal(200) / 12 * 86400))
    assert over.reduce_by_percent == Decimal(17)  # 10/day fits, 12/day does not: cut 16.7 %
    done = project(
        spent=Decimal(301),
        recent_cost=Decimal(1),
        window_start=NOW - timedelta(days=1),
        now=NOW,
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        limit=Decimal(300),
    )
    assert done.outlook is Outlook.EXCEEDED and done.exhausted_at is None
    never = project(
        spent=Decimal(5),
        recent_cost=Decimal(5),
        window_start=NOW - timedelta(days=1),
        now=NOW,
        period_end=None,
    )
    assert never.projected == Decimal(5) and never.outlook is Outlook.UNLIMITED


def test_days_and_rate_window() -> None:
    assert days_between(NOW, NOW + timedelta(hours=36)) == Decimal("1.5")
    assert days_between(NOW, NOW - timedelta(hours=1)) == 0
    assert rate_window(NOW, 7, None) == (NOW - timedelta(days=7), NOW)
    assert rate_window(NOW, 7, NOW - timedelta(days=2)) == (NOW - timedelta(days=2), NOW)
    assert rate_window(NOW, 7, NOW - timedelta(hours=3)) == (NOW - timedelta(days=1), NOW)


def test_budget_states_project_each_budget_to_its_reset() -> None:
    ledger = MemoryLedger()
    steady(
        ledger, per_day=10 * 10**10, days=20, project_name="api"
    )  # $10/day, 20 days (10 of them last month)
    steady(ledger, per_day=2 * 10**10, days=20, project_name="web")  # $2/day
    policies = compile_policies(
        [
            BudgetConfig.model_validate({"id": "monthly", "period": "month", "cost_usd": "300"}),
            BudgetConfig.model_validate(
                {
                    "id": "per-project",
                    "scope": "project",
                    "period": "month",
                    "cost_usd": "100",
                    "overrides": {"api": {"cost_usd": "250"}},
                }
            ),
            BudgetConfig.model_validate({"id": "daily-tokens", "period": "day", "tokens": 100_000}),
        ]
    )
    states = budget_states(Aggregator(ledger, UTC_TZ), policies, NOW, UTC_TZ)
    by = {(s.policy.id, s.scope_value): s for s in states}
    monthly = by[("monthly", None)].projection()
    assert monthly is not None
    assert monthly.spent == Decimal(120) and monthly.rate_per_day == Decimal(12)
    assert monthly.days_left == Decimal(20) and monthly.projected == Decimal(360)
    assert monthly.outlook is Outlook.OVER and monthly.overshoot == Decimal(60)
    api = by[("per-project", "project=api")].projection()
    web = by[("per-project", "project=web")].projection()
    assert api is not None and web is not None
    assert (api.limit, api.projected, api.outlook) == (Decimal(250), Decimal(300), Outlook.OVER)
    assert (web.limit, web.projected, web.outlook) == (Decimal(100), Decimal(60), Outlook.WITHIN)
    tokens = by[("daily-tokens", None)]
    assert tokens.used.total_tokens == 0  # nothing yet today (NOW is midnight)
    lines = {line.name: line for line in budget_lines(states, NOW)}
    assert lines["monthly"].percent_used == Decimal("40.0")
    assert lines["monthly"].remaining == Decimal(180)
    assert lines["per-project [project=api]"].limit == Decimal(250)
    assert lines["daily-tokens"].unit is Unit.TOKENS and lines["daily-tokens"].limit == 100_000
