"""One session in detail (seed 004's "Detailed Session Report"): tokens by slice with their cost, calls,
averages and the cost per minute, read from the session's events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from costwarden.core.money import format_usd
from costwarden.core.usage import UsageEvent
from costwarden.storage.ledger import Totals
from costwarden.storage.totals import add_totals, empty_totals, event_totals

__all__ = ["SLICES", "SessionCall", "SessionDetail", "session_detail", "session_renderable"]

SLICES: tuple[tuple[str, str, str], ...] = (
    # (label, token field, cost slice)
    ("Input", "input_tokens", "input"),
    ("Cache reads", "cache_read_tokens", "cache_read"),
    ("Cache writes (5 min)", "cache_write_tokens", "cache_write"),
    ("Cache writes (1 h)", "cache_write_1h_tokens", "cache_write_1h"),
    ("Output", "output_tokens", "output"),
)
_UNIT = Decimal("1E-10")
_SHOWN_CALLS = 20
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


def session_renderable(detail: SessionDetail, tz: ZoneInfo | None = None) -> RenderableType:
    """The seed's layout: header, token usage by slice with cost, calls, cost breakdown, efficiency."""
    from costwarden.reports.text import RULE, heading, usd

    t = detail.totals
    head = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("Project:", escape(", ".join(detail.projects)) or "(none)")
    if detail.agents:
        head.add_row("Agents:", escape(", ".join(detail.agents)))
    zone = tz or ZoneInfo("UTC")

    def when(at: datetime | None) -> str:
        return "-" if at is None else at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    head.add_row("Started:", when(detail.started))
    head.add_row("Ended:", when(detail.ended))
    minutes = int(detail.minutes)
    head.add_row("Duration:", f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m")
    head.add_row("Model:", escape(", ".join(detail.models)))

    usage = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    usage.add_column(style="bold")
    usage.add_column(justify="right")
    usage.add_column(justify="right")
    for label, token_field, slice_name in SLICES:
        count = getattr(t, token_field)
        if count or slice_name in detail.slice_cost:
            usage.add_row(
                f"{label}:", f"{count:,} tokens", f"({usd(detail.slice_cost.get(slice_name, Decimal(0)))})"
            )
    usage.add_row("Total:", f"{t.total_tokens:,} tokens", f"({usd(t.cost)})")

    calls = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    calls.add_column(style="bold")
    calls.add_column(justify="right")
    calls.add_row("Total calls:", f"{t.events:,}")
    calls.add_row("Failed calls:", f"{t.error_events:,}")
    calls.add_row("Average tokens/call:", f"{detail.per_call(t.total_tokens).quantize(Decimal(1)):,}")
    calls.add_row("Average cost/call:", usd(detail.per_call(t.cost)))

    breakdown = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    breakdown.add_column(style="bold")
    breakdown.add_column(justify="right")
    breakdown.add_column(justify="right")
    for name, amount in sorted(detail.slice_cost.items(), key=lambda kv: -kv[1]):
        pct = (amount * 100 / t.cost).quantize(Decimal(1)) if t.cost else Decimal(0)
        breakdown.add_row(f"{name.replace('_', ' ')}:", usd(amount), f"({pct}%)")
    breakdown.add_row("Total:", usd(t.cost), "")

    shown = detail.calls[-_SHOWN_CALLS:]
    listing = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0))
    for column in ("time", "model", "cost", "status", "response id", "request id"):
        listing.add_column(column, justify="right" if column == "cost" else "left")
    for call in shown:
        listing.add_row(
            when(call.occurred_at),
            escape(call.model),
            usd(call.cost),
            call.status,
            escape(call.provider_response_id or "-"),
            escape(call.provider_request_id or "-"),
        )

    efficiency = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    efficiency.add_column(style="bold")
    efficiency.add_column(justify="right")
    efficiency.add_row("Tokens per minute:", f"{detail.tokens_per_minute:,}")
    efficiency.add_row("Cost per minute:", format_usd(detail.cost_per_minute, 4))
    parts: list[RenderableType] = [
        heading(f"Session: {detail.session}"),
        Text(RULE),
        head,
        Text(""),
        heading("TOKEN USAGE"),
        usage,
        Text(""),
        heading("API CALLS"),
        calls,
        Text(""),
        heading("COST BREAKDOWN"),
        breakdown,
        Text(""),
        heading("EFFICIENCY"),
        efficiency,
        Text(""),
        heading("CALLS" if len(shown) == len(detail.calls) else f"LAST {len(shown)} CALLS"),
        listing,
    ]
    if len(shown) < len(detail.calls):
        parts.append(
            Text(f"... and {len(detail.calls) - len(shown)} earlier call(s); --json lists every one.")
        )
    if t.unpriced_events:
        parts.append(
            Text(
                f"Note: {t.unpriced_events} call(s) are unpriced, counted at the fallback price "
                f"{usd(t.unpriced_cost)}."
            )
        )
    return Group(*parts)
