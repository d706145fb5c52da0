"""One session in detail: tokens by slice with their cost, calls, averages and the cost per minute, read
from the session's events. `session_view(warden, SessionQuery(...))` answers `costwarden report --session`;
`SessionResult.to_json()` is the schema `costwarden.session/1`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.formats import money, rows_csv, totals_json
from costwarden.reports.periods import utc_iso
from costwarden.reports.session import SessionDetail, session_detail
from costwarden.storage.ledger import EventQuery, Totals
from costwarden.views.basis import Basis, basis_of_events
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["SESSION_SCHEMA", "SessionQuery", "SessionResult", "SessionUnavailable", "session_view"]

SESSION_SCHEMA = "costwarden.session/1"
_UNIT = Decimal("1E-10")


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """One session id; with a period, only its calls in that period (default: all of them)."""

    session: str
    period: PeriodFlags = NO_PERIOD


class SessionUnavailable(LookupError):
    """No detailed events of the session: either it is unknown, or its events are older than the detailed
    retention and only their totals are kept (`kept`, with `kept.events > 0`)."""

    def __init__(self, session: str, kept: Totals) -> None:
        self.session = session
        self.kept = kept
        gone = "only totals are kept" if kept.events else "no events"
        super().__init__(f"session {session!r}: {gone}")

    @property
    def summarized(self) -> bool:
        """Whether the session exists as totals only (older than the detailed retention)."""
        return self.kept.events > 0


@dataclass(frozen=True, slots=True)
class SessionResult:
    """The session's detail (every call, oldest first)."""

    SCHEMA: ClassVar[str] = SESSION_SCHEMA

    detail: SessionDetail
    basis: Basis | None = None
    """What the figures rest on: the session's calls by where their cost came from."""

    def to_json(self) -> dict[str, Any]:
        """The detail as JSON (money as decimal strings)."""
        detail = self.detail
        t = detail.totals
        return {
            "schema": SESSION_SCHEMA,
            "session": detail.session,
            "projects": detail.projects,
            "agents": detail.agents,
            "models": detail.models,
            "started": utc_iso(detail.started) if detail.started else None,
            "ended": utc_iso(detail.ended) if detail.ended else None,
            "minutes": str(detail.minutes.quantize(Decimal("0.01"))),
            "totals": totals_json(t),
            "slice_cost": {name: money(amount) for name, amount in sorted(detail.slice_cost.items())},
            "average_tokens_per_call": str(detail.per_call(t.total_tokens).quantize(Decimal(1))),
            "average_cost_per_call": money(detail.per_call(t.cost).quantize(_UNIT, rounding=ROUND_HALF_EVEN)),
            "tokens_per_minute": str(detail.tokens_per_minute),
            "cost_per_minute": money(detail.cost_per_minute),
            "calls": [
                {
                    "id": call.id,
                    "occurred_at": utc_iso(call.occurred_at),
                    "provider": call.provider,
                    "model": call.model,
                    "status": call.status,
                    "cost": money(call.cost),
                    "provider_response_id": call.provider_response_id,
                    "provider_request_id": call.provider_request_id,
                    "input_tokens": call.input_tokens,
                    "output_tokens": call.output_tokens,
                    "duration_ms": call.duration_ms,
                }
                for call in detail.calls
            ],
            "basis": None if self.basis is None else self.basis.to_json(),
        }

    def to_csv(self) -> str:
        """The session's totals as one CSV row."""
        return rows_csv([self.detail.totals], ())


def session_view(warden: Warden, query: SessionQuery) -> SessionResult:
    """The detail of one session from its events; `SessionUnavailable` when none are kept in detail."""
    now = warden.clock.now()
    period = query.period.resolve(warden.settings.tz, at=now) if query.period.given else None
    where = {"session": query.session}
    events = list(
        warden.ledger.events(
            EventQuery(
                start=period.start if period else None, end=period.end if period else None, where=where
            )
        )
    )
    if not events:
        aggregator = aggregator_of(warden)
        with aggregator.snapshot():
            kept = aggregator.total(EventQuery(where=where))
        raise SessionUnavailable(query.session, kept)
    detail = session_detail(query.session, events)
    at = min(now, detail.ended) if detail.ended is not None else now
    return SessionResult(detail, basis_of_events(warden, events, at))
