"""The facade's budget contract: every method the Warden calls is in `BudgetController`, both controllers
implement all of it, and without budgets the Warden runs on `NullBudgets` (every call allowed, recorded)."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from costwarden.budgets import BudgetEngine
from costwarden.core.calls import CallRequest
from costwarden.core.controller import BudgetController, NullBudgets
from costwarden.core.usage import Usage
from costwarden.ledger import MemoryLedger
from costwarden.warden import Warden

CONTRACT = sorted(
    name for name, member in vars(BudgetController).items() if callable(member) and not name.startswith("_")
)


def test_the_contract_holds_every_call_the_warden_makes() -> None:
    source = inspect.getsource(Warden)
    called = {name for name in CONTRACT if f"budgets.{name}(" in source}
    assert called == set(CONTRACT)
    assert "getattr(budgets" not in source and "hasattr(budgets" not in source


@pytest.mark.parametrize("controller", [BudgetEngine, NullBudgets])
def test_each_controller_implements_the_whole_contract(controller: type) -> None:
    for name in CONTRACT:
        ours, theirs = getattr(controller, name), getattr(BudgetController, name)
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs), name
        assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters), name


def test_without_budgets_every_call_is_allowed_and_recorded() -> None:
    ledger = MemoryLedger()
    warden = Warden(ledger=ledger)
    assert isinstance(warden.budgets, NullBudgets)

    def request() -> CallRequest:  # one request per call: its id is the event's
        return CallRequest(provider="openai", model="gpt-4o", input_tokens=10, max_tokens=10)

    async def agent() -> None:
        async with warden.arun(agent="async") as attribution, warden.aguard(request()) as admission:
            warden.settle(admission, Usage(input_tokens=10, output_tokens=5))
            assert attribution.run is not None

    with warden.run(agent="sync"), warden.guard(request()) as admission:
        warden.settle(admission, Usage(input_tokens=10, output_tokens=5))
    asyncio.run(agent())
    warden.record(provider="openai", model="gpt-4o", input_tokens=1)
    warden.record_many([])
    released = warden.admit(request())
    warden.release(released)
    agents = sorted(e.attribution.agent or "-" for e in ledger.events())
    assert agents == ["-", "async", "sync"]
