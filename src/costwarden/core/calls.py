"""The contract of one guarded call: what an adapter asks for before it calls a provider (`CallRequest`)
and what it is allowed to do (`Admission`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from costwarden.core.admission import Amounts
from costwarden.core.usage import Attribution, check_count, new_event_id

__all__ = ["Admission", "CallRequest", "Decision", "is_cancellation"]


@dataclass(frozen=True, slots=True)
class CallRequest:
    """A call about to be made: where to, for whom, and how big it can get.

    `input_tokens` is the estimate of all input tokens; `max_tokens` bounds the output (None: the configured
    default cap is assumed). `capabilities` names what a fallback must support (e.g. `tool_calls`,
    `streaming`, `vision`, `json_mode`, `reasoning`). `fallbacks` lists `(provider, model)` pairs the caller
    accepts instead; `allow_fallback=False` forbids switching.
    """

    provider: str
    model: str
    attribution: Attribution = field(default_factory=Attribution)
    input_tokens: int = 0
    max_tokens: int | None = None
    capabilities: frozenset[str] = frozenset()
    fallbacks: tuple[tuple[str, str], ...] = ()
    allow_fallback: bool = True
    service_tier: str | None = None
    request_id: str = field(default_factory=new_event_id)

    def __post_init__(self) -> None:
        check_count("input_tokens", self.input_tokens)
        if self.max_tokens is not None:
            check_count("max_tokens", self.max_tokens)


class Decision(StrEnum):
    """What admission decided for a call that may proceed (refusals raise `BudgetExceeded`)."""

    ALLOW = "allow"
    WARN = "warn"
    FALLBACK = "fallback"


@dataclass(slots=True)
class Admission:
    """Permission for one call: which provider/model to call, and the reservation held for it."""

    request: CallRequest
    provider: str
    model: str
    decision: Decision = Decision.ALLOW
    reserved: Decimal = Decimal(0)
    reservation_ids: tuple[str, ...] = ()
    holds: tuple[tuple[str, Amounts], ...] = ()
    """What the reservation holds on each budget counter (`budget|scope|period` key, amounts)."""
    expires: float | None = None
    """Epoch seconds after which the reservation may be reclaimed as abandoned (None: nothing reserved)."""
    notices: tuple[str, ...] = ()
    reason: str | None = None
    started: float = field(default_factory=time.monotonic)
    settled: bool = False

    @property
    def switched(self) -> bool:
        """True when admission chose another provider or model than requested (fallback)."""
        return (self.provider, self.model) != (self.request.provider, self.request.model)

    @property
    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


def is_cancellation(exc: BaseException) -> bool:
    """Whether `exc` ends a call as `cancelled` rather than failed: KeyboardInterrupt, GeneratorExit and the
    cancellation of asyncio (`CancelledError`) or anyio/trio (`Cancelled`)."""
    return isinstance(exc, KeyboardInterrupt | GeneratorExit) or type(exc).__name__ in (
        "CancelledError",
        "Cancelled",
    )
