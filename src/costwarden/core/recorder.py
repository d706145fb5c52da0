"""What capture code asks of the facade: `Recorder` (price and store events; importers) and `Admitter`
(admit, settle, release and fail calls too; SDK wrappers, the LiteLLM callback). `Warden` is both; the
code that captures calls depends on these protocols, not on the Warden, so it can serve any recorder."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

from costwarden.core.calls import Admission, CallRequest
from costwarden.core.usage import EventSource, EventStatus, Usage, UsageEvent

if TYPE_CHECKING:
    from costwarden.clock import Clock
    from costwarden.estimate import TokenEstimator
    from costwarden.quotas import Quotas
    from costwarden.storage.ledger import Ledger

__all__ = ["Admitter", "Recorder", "SettleDetails", "check_settle_details"]


class SettleDetails(TypedDict, total=False):
    """What `settle` may say of a call besides its usage (see `Warden.settle`)."""

    status: EventStatus | str
    occurred_at: datetime | None
    duration_ms: int | None
    provider_cost: Decimal | None
    estimated: bool
    service_tier: str | None
    source: EventSource | str
    model: str | None
    provider_response_id: str | None
    provider_request_id: str | None


_SETTLE_KEYS = frozenset(SettleDetails.__annotations__)


def check_settle_details(details: SettleDetails) -> None:
    """A `TypeError` for a keyword `settle` does not take (as a misspelt keyword argument would raise)."""
    unknown = details.keys() - _SETTLE_KEYS
    if unknown:
        raise TypeError(f"settle() got an unexpected keyword argument {sorted(unknown)[0]!r}")


class Recorder(Protocol):
    """Prices and stores events (`Warden.record`, `record_many`, `price`)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def quotas(self) -> Quotas: ...

    def price(self, event: UsageEvent) -> UsageEvent: ...

    def record(self, event: UsageEvent | None = None, /, **fields: Any) -> UsageEvent: ...

    def record_many(self, events: Iterable[UsageEvent]) -> list[UsageEvent]: ...


class Admitter(Recorder, Protocol):
    """A `Recorder` that also admits calls against budgets and settles them (`Warden.admit`, ...)."""

    @property
    def estimator(self) -> TokenEstimator: ...

    def admit(self, request: CallRequest) -> Admission: ...

    async def aadmit(self, request: CallRequest) -> Admission: ...

    def settle(
        self,
        admission: Admission,
        usage: Usage,
        *,
        event_id: str | None = None,
        **details: Unpack[SettleDetails],
    ) -> UsageEvent: ...

    def release(self, admission: Admission) -> None: ...

    def fail(
        self,
        admission: Admission,
        *,
        status: EventStatus | str = EventStatus.ERROR,
        usage: Usage | None = None,
        event_id: str | None = None,
        provider_request_id: str | None = None,
        source: EventSource | str = EventSource.SDK,
    ) -> UsageEvent: ...
