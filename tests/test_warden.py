from __future__ import annotations

import asyncio

import pytest

from costwarden import CallRequest, EventStatus, Usage, UsageEvent, Warden
from costwarden.ledger import MemoryLedger
from costwarden.storage.ledger import AppendOutcome


class FlakyLedger(MemoryLedger):
    """Fails the first append, then works."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def append(self, event: UsageEvent) -> AppendOutcome:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        return super().append(event)


def test_a_failed_settle_leaves_the_admission_open_and_the_guard_records_the_failure() -> None:
    ledger = FlakyLedger()
    warden = Warden(ledger=ledger)
    request = CallRequest(provider="openai", model="gpt-5", input_tokens=10, max_tokens=10)
    with pytest.raises(OSError, match="disk full"), warden.guard(request) as admission:
        warden.settle(admission, Usage(input_tokens=10, output_tokens=5))
    assert admission.settled
    stored = ledger.get(request.request_id)
    assert stored is not None
    assert stored.status is EventStatus.ERROR


def test_record_uses_the_run_attribution() -> None:
    warden = Warden(ledger=MemoryLedger())
    with warden.run(project="p", agent="a", tags={"team": "red"}):
        event = warden.record(provider="openai", model="gpt-5", input_tokens=1_000_000, agent="b")
    assert event.attribution.project == "p"
    assert event.attribution.agent == "b"
    assert event.attribution.tags == {"team": "red"}
    assert event.attribution.run is not None
    assert str(event.cost_total) == "1.25"


def test_record_refuses_event_and_fields_together() -> None:
    warden = Warden(ledger=MemoryLedger())
    event = UsageEvent.create(provider="openai", model="gpt-5")
    with pytest.raises(TypeError):
        warden.record(event, project="x")


class Cancelled(BaseException):
    """Named as trio's and anyio's cancellation exceptions are."""


@pytest.mark.parametrize("exc", [asyncio.CancelledError(), Cancelled(), KeyboardInterrupt(), RuntimeError()])
def test_a_guarded_block_ended_by_cancellation_is_recorded_as_cancelled(exc: BaseException) -> None:
    """The guard and the SDK wrappers agree on what a cancellation is (`core.calls.is_cancellation`)."""
    ledger = MemoryLedger()
    warden = Warden(ledger=ledger)
    request = CallRequest(provider="openai", model="gpt-4o", input_tokens=10, max_tokens=10)
    with pytest.raises(type(exc)), warden.guard(request):
        raise exc
    (event,) = ledger.events()
    expected = EventStatus.ERROR if isinstance(exc, RuntimeError) else EventStatus.CANCELLED
    assert event.status == expected


def test_settle_and_run_refuse_a_keyword_they_do_not_take() -> None:
    from costwarden.ledger import MemoryLedger

    kwargs: dict[str, object] = {"stauts": "ok"}
    with Warden(ledger=MemoryLedger()) as warden:
        admission = warden.admit(CallRequest(provider="openai", model="gpt-5"))
        with pytest.raises(TypeError, match="unexpected keyword argument 'stauts'"):
            warden.settle(admission, Usage(input_tokens=1), **kwargs)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="unexpected keyword argument 'projet'"), warden.run(projet="x"):  # type: ignore[call-arg]
            pass
        warden.release(admission)
