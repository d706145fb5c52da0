"""Budgets see calls under their canonical provider and model, whatever names the caller used."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from budget_helpers import Clock, MakeWarden, call

from costwarden.budgets import BudgetEngine
from costwarden.core.money import to_units
from costwarden.core.usage import Usage
from costwarden.errors import BudgetExceeded
from costwarden.warden import Warden

AT = datetime(2026, 11, 23, 10, tzinfo=UTC)
SONNET_DATED = "claude-sonnet-4-5-20250929"


def counters(warden: Warden, budget_id: str) -> dict[str, Decimal]:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return {
        key: Decimal(state.spent.cost) / 10**10 for key, state in engine.store.counters(budget_id).items()
    }


def record(warden: Warden, provider: str, model: str) -> None:
    # 100k input tokens of Claude Sonnet 4.5: $0.30
    warden.record(provider=provider, model=model, input_tokens=100_000, occurred_at=AT)


def test_a_budget_on_the_canonical_provider_sees_every_spelling(make_warden: MakeWarden) -> None:
    warden = make_warden(
        clock=Clock(AT),
        budgets=[
            {"id": "anthropic", "where": {"provider": "anthropic"}, "period": "month", "cost_usd": 100},
            {"id": "claude", "where": {"provider": "claude"}, "period": "month", "cost_usd": 100},
            {"id": "per-provider", "scope": "provider", "period": "month", "cost_usd": 100},
            {"id": "sonnet", "scope": "model", "value": SONNET_DATED, "period": "month", "cost_usd": 100},
            {"id": "per-model", "scope": "model", "period": "month", "cost_usd": 100},
        ],
    )
    record(warden, "claude", SONNET_DATED)
    record(warden, "anthropic", "claude-sonnet-4-5")
    record(warden, "Anthropic", SONNET_DATED)
    assert sum(counters(warden, "anthropic").values()) == Decimal("0.9")
    assert sum(counters(warden, "claude").values()) == Decimal("0.9")
    assert sum(counters(warden, "sonnet").values()) == Decimal("0.9")
    (key,) = counters(warden, "per-provider")
    assert "provider=anthropic" in key
    (key,) = counters(warden, "per-model")
    assert "model=claude-sonnet-4-5|" in key


def test_admission_under_an_alias_reserves_on_the_canonical_budget(make_warden: MakeWarden) -> None:
    warden = make_warden(
        clock=Clock(AT),
        budgets=[
            {"id": "anthropic", "where": {"provider": "anthropic"}, "period": "month", "cost_usd": "0.5"}
        ],
    )
    record(warden, "claude", SONNET_DATED)  # $0.30 of $0.50
    request = call(provider="claude", model=SONNET_DATED, input_tokens=100_000, max_tokens=0)
    with pytest.raises(BudgetExceeded) as info:
        warden.admit(request)  # another $0.30 does not fit
    assert info.value.budget_id == "anthropic"
    small = call(provider="claude", model=SONNET_DATED, input_tokens=50_000, max_tokens=0)
    admission = warden.admit(small)
    assert admission.reserved == Decimal("0.15")
    event = warden.settle(admission, Usage(input_tokens=50_000), occurred_at=AT)
    assert (event.provider, event.model) == ("anthropic", "claude-sonnet-4-5")
    assert (event.given_provider, event.given_model) == ("claude", SONNET_DATED)
    assert sum(counters(warden, "anthropic").values()) == Decimal("0.45")
    assert to_units(event.cost_total) == 1_500_000_000


def test_refusals_and_their_alerts_name_the_canonical_provider_and_model(make_warden: MakeWarden) -> None:
    warden = make_warden(
        clock=Clock(AT),
        budgets=[{"id": "tight", "period": "month", "cost_usd": "0.1"}],
    )
    alerts: list[dict[str, object]] = []
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    engine.hub.add(lambda alert: alerts.append(dict(alert.details)))
    request = call(provider="claude", model=SONNET_DATED, input_tokens=100_000, max_tokens=0)
    with pytest.raises(BudgetExceeded):
        warden.admit(request)
    (details,) = alerts
    assert (details["provider"], details["model"]) == ("anthropic", "claude-sonnet-4-5")
    assert (details["given_provider"], details["given_model"]) == ("claude", SONNET_DATED)
