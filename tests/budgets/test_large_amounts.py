"""Amounts past what a double holds exactly: cost is counted in 10^-10 USD, so $10,000 is 10^14 units and
$900,719.93 is 2^53. Every backend counts, admits and reports them exactly (Redis scripts included, whose
numbers are doubles)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from budget_helpers import PRICING, MakeWarden, call

from costwarden.budgets import BudgetEngine
from costwarden.core.usage import Usage
from costwarden.errors import BudgetExceeded
from costwarden.warden import Warden

# `unit` costs one storage unit (10^-10 USD) a token, so a spend can be set to the unit.
LARGE_PRICING: dict[str, Any] = {
    "custom_models": [
        *PRICING["custom_models"],
        {"provider": "cloud", "model": "unit", "input": "0.0001", "output": "0.0001"},
    ]
}
TWO_53 = 2**53


def units_spent(warden: Warden, budget_id: str) -> int:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    engine.derive(next(p for p in engine.policies.policies if p.id == budget_id))
    return sum(state.spent.cost for state in engine.store.counters(budget_id).values())


def spend_units(warden: Warden, units: int) -> None:
    """Record exactly `units` of cost: $0.001 tokens of `big`, the rest in `unit` tokens."""
    big, rest = divmod(units, 10**7)
    if big:
        warden.record(provider="cloud", model="big", input_tokens=big)
    if rest:
        warden.record(provider="cloud", model="unit", input_tokens=rest)


def test_a_budget_past_ten_thousand_dollars_counts_and_admits(make_warden: MakeWarden) -> None:
    budgets = [{"id": "m", "period": "month", "cost_usd": "1000000"}]
    warden = make_warden(pricing=LARGE_PRICING, budgets=budgets)
    warden.record(provider="cloud", model="big", input_tokens=11_000_000)  # $11,000
    with warden.guard(call()) as admission:
        warden.settle(admission, Usage(input_tokens=100, output_tokens=50))
    assert units_spent(warden, "m") == 110_000 * 10**9 + 15 * 10**8  # $11,000.15


@pytest.mark.parametrize("spent", [TWO_53 - 1, TWO_53])
def test_admission_at_two_to_the_53_units_is_exact(make_warden: MakeWarden, spent: int) -> None:
    """The limit is 2^53 units: a one-unit call fits when 2^53 - 1 is spent and not when 2^53 is (in
    doubles 2^53 + 1 == 2^53, so the second would slip through)."""
    limit = Decimal(TWO_53) / 10**10
    budgets = [{"id": "t", "period": "total", "cost_usd": str(limit)}]
    warden = make_warden(pricing=LARGE_PRICING, budgets=budgets)
    spend_units(warden, spent)
    assert units_spent(warden, "t") == spent
    one_unit = call(model="unit", input_tokens=0, max_tokens=1)
    if spent < TWO_53:
        with warden.guard(one_unit) as admission:
            warden.settle(admission, Usage(input_tokens=0, output_tokens=1))
        assert units_spent(warden, "t") == TWO_53
    else:
        with pytest.raises(BudgetExceeded), warden.guard(one_unit):
            pass
        assert units_spent(warden, "t") == TWO_53


def test_reservations_past_two_to_the_53_units_are_held_and_given_back(make_warden: MakeWarden) -> None:
    limit = Decimal(3 * TWO_53) / 10**10
    budgets = [{"id": "r", "period": "total", "cost_usd": str(limit)}]
    warden = make_warden(pricing=LARGE_PRICING, budgets=budgets)
    spend_units(warden, TWO_53 + 1)
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    # a worst case past 2^53 units: 900,719,926 input tokens and 1 output token of `big`
    with warden.guard(call(input_tokens=900_719_926, max_tokens=1)) as admission:
        held = sum(state.reserved.cost for state in engine.store.counters("r").values())
        assert held == 900_719_927 * 10**7
        warden.release(admission)
    assert sum(state.reserved.cost for state in engine.store.counters("r").values()) == 0
    assert units_spent(warden, "r") == TWO_53 + 1
