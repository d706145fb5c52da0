"""The budget side of the facade: what `Warden` asks of a budget engine (`BudgetController`), a run's
concurrency slot (`RunSlot`), and `NullBudgets`, the controller when no budget applies (every call allowed,
every event appended to the ledger as it is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from costwarden.core.calls import Admission, CallRequest
from costwarden.core.usage import Attribution, UsageEvent

if TYPE_CHECKING:
    from costwarden.storage.ledger import Ledger

__all__ = ["BudgetController", "NullBudgets", "RunSlot"]


@dataclass(slots=True)
class RunSlot:
    """A run's concurrency slot (None id: no `concurrency: runs` budget applied)."""

    reservation_id: str | None
    attribution: Attribution


class BudgetController(Protocol):
    """What the Warden asks of the budget engine (`BudgetEngine`; `NullBudgets` when none applies)."""

    def admit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        """Reserve `worst_case` against every applicable budget at once, or raise `BudgetExceeded`."""
        ...

    async def aadmit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        """`admit` for async code: a queued call waits without blocking the event loop."""
        ...

    def settle(self, admission: Admission, event: UsageEvent) -> None:
        """Append the priced event to the ledger and replace the reservation with its real cost (in one
        transaction where the storage allows)."""
        ...

    def release(self, admission: Admission) -> None:
        """Give the reservation back without spending."""
        ...

    def held(self, admission: Admission) -> bool:
        """Whether every reservation of the admission is still held (not settled, released or reclaimed)."""
        ...

    def recorded(self, events: Sequence[UsageEvent]) -> None:
        """Append events that had no admission (imports, `record`) to the ledger, count them and raise
        alerts."""
        ...

    def enter_run(self, attribution: Attribution) -> RunSlot:
        """Take a run's concurrency slot (`concurrency: runs` budgets), queueing up to their timeout."""
        ...

    async def aenter_run(self, attribution: Attribution) -> RunSlot:
        """`enter_run` for async code."""
        ...

    def exit_run(self, slot: RunSlot) -> None:
        """Give a run's slot back."""
        ...

    def forget_run(self, run: str) -> None:
        """Drop what this process keeps about a finished run."""
        ...

    def close(self) -> None: ...


class NullBudgets:
    """The `BudgetController` when no budget applies: admits every call as asked, appends every event."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def admit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        return Admission(request=request, provider=request.provider, model=request.model)

    async def aadmit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        return self.admit(request, worst_case)

    def settle(self, admission: Admission, event: UsageEvent) -> None:
        self.ledger.append(event)

    def release(self, admission: Admission) -> None:
        return None

    def held(self, admission: Admission) -> bool:
        return not admission.reservation_ids  # another controller's reservations are not held here

    def recorded(self, events: Sequence[UsageEvent]) -> None:
        if len(events) == 1:
            self.ledger.append(events[0])
        elif events:
            self.ledger.append_many(events)

    def enter_run(self, attribution: Attribution) -> RunSlot:
        return RunSlot(None, attribution)

    async def aenter_run(self, attribution: Attribution) -> RunSlot:
        return self.enter_run(attribution)

    def exit_run(self, slot: RunSlot) -> None:
        return None

    def forget_run(self, run: str) -> None:
        return None

    def close(self) -> None:
        return None
