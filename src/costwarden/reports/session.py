"""One session in detail (seed 004's "Detailed Session Report"): tokens by slice with their cost, calls,
averages and the cost per minute, read from the session's events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from costwarden.core.usage import UsageEvent
from costwarden.storage.ledger import Totals
from costwarden.storage.totals import add_totals, empty_totals, event_totals

__all__ = ["SLICES", "SHOWN_CALLS", "SessionCall", "SessionDetail", "session_detail"]

SLICES: tuple[tuple[str, str, str], ...] = (
    # (label, token field, cost slice)
    ("Input", "input_tokens", "input"),
    ("Cache reads", "cache_read_tokens", "cache_read"),
    ("Cache writes (5 min)", "cache_write_tokens", "cache_write"),
    ("Cache writes (1 h)", "cache_write_1h_tokens", "cache_write_1h"),
    ("Output", "output_tokens", "output"),
)
_UNIT = Decimal("1E-10")
SHOWN_CALLS = 20
"""How many of its calls a session shows (the latest)."""
"""The text view lists the session's last calls; `--json` lists every one."""


@dataclass(frozen=True, slots=True)
class SessionCall:
    """One call of the session: our event id and what the provider called it."""

    id: str
    occurred_at: datetime
    provider: str
    model: str
    status: str
    cost: Decimal
    provider_response_id: str | None
    provider_request_id: str | None
    input_tokens: int = 0
    """Every input token (cache reads and writes included)."""
    output_tokens: int = 0
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """Everything known about one session's calls."""

    session: str
    projects: list[str]
    agents: list[str]
    models: list[str]
    started: datetime | None
    ended: datetime | None
    totals: Totals
    slice_cost: dict[str, Decimal] = field(default_factory=dict)
    """Cost per slice name (`input`, `output`, ...; `other` for costs without a slice breakdown)."""
    calls: list[SessionCall] = field(default_factory=list)
    """Every call, oldest first."""

    @property
    def minutes(self) -> Decimal:
        """Wall-clock minutes from the first to the last call (at least one minute)."""
        if self.started is None or self.ended is None:
            return Decimal(1)
        seconds = Decimal((self.ended - self.started).total_seconds())
        return max(Decimal(1), seconds / 60)

    def per_call(self, amount: Decimal | int) -> Decimal:
        calls = self.totals.events
        return Decimal(0) if not calls else Decimal(amount) / calls

    @property
    def cost_per_minute(self) -> Decimal:
        return (self.totals.cost / self.minutes).quantize(_UNIT, rounding=ROUND_HALF_EVEN)

    @property
    def tokens_per_minute(self) -> Decimal:
        return (Decimal(self.totals.total_tokens) / self.minutes).quantize(
            Decimal(1), rounding=ROUND_HALF_EVEN
        )


def _ranked(counter: Counter[str]) -> list[str]:
    return [name for name, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def session_detail(session: str, events: Iterable[UsageEvent]) -> SessionDetail:
    """Summarize the events of one session (they need not be sorted)."""
    totals = empty_totals()
    projects: Counter[str] = Counter()
    agents: Counter[str] = Counter()
    models: Counter[str] = Counter()
    slice_cost: dict[str, Decimal] = {}
    started: datetime | None = None
    ended: datetime | None = None
    calls: list[SessionCall] = []
    for event in events:
        totals = add_totals(totals, event_totals(event))
        calls.append(
            SessionCall(
                id=event.id,
                occurred_at=event.occurred_at,
                provider=event.provider,
                model=event.model,
                status=event.status.value,
                cost=event.cost_total,
                provider_response_id=event.provider_response_id,
                provider_request_id=event.provider_request_id,
                input_tokens=event.usage.total_input_tokens,
                output_tokens=event.usage.output_tokens,
                duration_ms=event.duration_ms,
            )
        )
        a = event.attribution
        if a.project:
            projects[a.project] += 1
        if a.agent:
            agents[a.agent] += 1
        models[event.model] += 1
        started = event.occurred_at if started is None else min(started, event.occurred_at)
        ended = event.occurred_at if ended is None else max(ended, event.occurred_at)
        cost = event.cost
        if cost is None:
            continue
        sliced = Decimal(0)
        for name, amount in cost.slices.items():
            if amount:
                slice_cost[name] = slice_cost.get(name, Decimal(0)) + amount
                sliced += amount
        if cost.total != sliced:
            # rounding to the storage unit, provider-reported totals and unpriced fallbacks
            slice_cost["other"] = slice_cost.get("other", Decimal(0)) + (cost.total - sliced)
    return SessionDetail(
        session=session,
        projects=_ranked(projects),
        agents=_ranked(agents),
        models=_ranked(models),
        started=started,
        ended=ended,
        totals=totals,
        slice_cost={k: v for k, v in slice_cost.items() if v},
        calls=sorted(calls, key=lambda c: (c.occurred_at, c.id)),
    )
