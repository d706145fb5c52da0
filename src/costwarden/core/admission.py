"""The admission decision, pure: counters + a call's needs -> fits or the first shortfall; threshold
crossings after spending; and the notices people read.

Amounts are integers: cost in storage units (10^-10 USD), tokens, requests, concurrent calls. A dimension
a call does not use (a $0 local call against a cost limit) is never the reason for a refusal, so a free
call still runs when a cost budget is spent.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from costwarden.core.money import format_usd, from_units
from costwarden.core.periods import Window
from costwarden.core.policy import Action, Applied, Threshold
from costwarden.core.units import spell, unit_of

__all__ = [
    "DIMENSIONS",
    "UNITS",
    "Amounts",
    "CounterState",
    "Need",
    "Shortfall",
    "Crossing",
    "counter_key",
    "combined",
    "find_shortfall",
    "crossings",
    "resets_at",
    "human_amount",
    "format_reset",
    "refusal_notice",
]

DIMENSIONS: tuple[str, ...] = ("cost", "tokens", "requests", "concurrent")
UNITS: Mapping[str, str] = {
    "cost": "cost_usd",
    "tokens": "tokens",
    "requests": "requests",
    "concurrent": "concurrent",
}


@dataclass(frozen=True, slots=True)
class Amounts:
    """One quantity per dimension."""

    cost: int = 0
    tokens: int = 0
    requests: int = 0
    concurrent: int = 0

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(
            self.cost + other.cost,
            self.tokens + other.tokens,
            self.requests + other.requests,
            self.concurrent + other.concurrent,
        )

    def __sub__(self, other: Amounts) -> Amounts:
        return Amounts(
            self.cost - other.cost,
            self.tokens - other.tokens,
            self.requests - other.requests,
            self.concurrent - other.concurrent,
        )

    def of(self, dimension: str) -> int:
        value: int = getattr(self, dimension)
        return value

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.cost, self.tokens, self.requests, self.concurrent)

    def __bool__(self) -> bool:
        return any(self.as_tuple())


ZERO = Amounts()


@dataclass(frozen=True, slots=True)
class CounterState:
    """A counter (or, for rolling windows, the sum of a window's buckets)."""

    spent: Amounts = ZERO
    reserved: Amounts = ZERO
    terminated: bool = False
    oldest: str | None = None
    """Rolling windows: the oldest bucket key holding spend or reservations (when capacity comes back)."""


def counter_key(budget_id: str, scope_key: str, period_key: str) -> str:
    """The id of one counter: budget, scope value(s) and period instance."""
    return f"{budget_id}|{scope_key}|{period_key}"


@dataclass(frozen=True, slots=True)
class Need:
    """What a call asks of one applied budget: reserve `amounts` on counter `key`, deciding on `keys`."""

    applied: Applied
    key: str
    keys: tuple[str, ...]
    window: Window
    amounts: Amounts

    @property
    def enforce(self) -> bool:
        return self.applied.policy.action is not Action.WARN


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why a need does not fit: the dimension, its limit and the counter at decision time."""

    need: Need
    dimension: str
    limit: int
    spent: int
    reserved: int
    requested: int
    terminated: bool = False
    oldest: str | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent - self.reserved)


def combined(keys: Sequence[str], states: Mapping[str, CounterState]) -> CounterState:
    """The state over several counters (a rolling window's buckets); missing counters count as zero."""
    if len(keys) == 1:
        return states.get(keys[0]) or CounterState()
    spent, reserved, terminated, oldest = ZERO, ZERO, False, None
    for key in keys:
        state = states.get(key)
        if state is None:
            continue
        spent += state.spent
        reserved += state.reserved
        terminated = terminated or state.terminated
        if oldest is None and (state.spent or state.reserved):
            oldest = key
    return CounterState(spent, reserved, terminated, oldest)


def find_shortfall(need: Need, state: CounterState) -> Shortfall | None:
    """The first dimension where `need` does not fit `state`, or None when it fits."""
    limits = need.applied.limits
    if state.terminated:
        return Shortfall(
            need,
            "cost",
            limits.cost or 0,
            state.spent.cost,
            state.reserved.cost,
            need.amounts.cost,
            terminated=True,
        )
    for dimension in DIMENSIONS:
        limit = limits.of(dimension)
        requested = need.amounts.of(dimension)
        if limit is None or requested == 0:
            continue
        spent = state.spent.of(dimension)
        reserved = state.reserved.of(dimension)
        if spent + reserved + requested > limit:
            return Shortfall(need, dimension, limit, spent, reserved, requested, oldest=state.oldest)
    return None


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold passed by one settlement: first reached at `spent` of `limit`."""

    applied: Applied
    key: str
    period_key: str
    dimension: str
    threshold: Threshold
    limit: int
    spent: int


def crossings(applied: Applied, key: str, period_key: str, before: Amounts, after: Amounts) -> list[Crossing]:
    """Thresholds whose level lies in (before, after] for each limited dimension."""
    out: list[Crossing] = []
    thresholds = applied.policy.thresholds
    if not thresholds:
        return out
    for dimension in ("cost", "tokens", "requests"):
        limit = applied.limits.of(dimension)
        if not limit:
            continue
        low, high = before.of(dimension) * 100, after.of(dimension) * 100
        if high <= low:
            continue
        for threshold in thresholds:
            level = threshold.percent * limit
            if low < level <= high:
                out.append(
                    Crossing(applied, key, period_key, dimension, threshold, limit, after.of(dimension))
                )
    return out


def resets_at(need: Need, oldest: str | None = None) -> datetime | None:
    """When capacity comes back: the period end; for rolling windows when the oldest bucket leaves."""
    period = need.applied.policy.period
    if not period.resets:
        return None
    if period.seconds:
        return period.bucket_end(oldest or need.key)
    return need.window.end


def human_amount(dimension: str, units: int, concurrency: str = "calls") -> str:
    """`$12.50`, `12,000 tokens`, `5 requests`, `3 concurrent calls` (`concurrent runs` for a budget with
    `concurrency: runs`)."""
    if dimension == "cost":
        amount = from_units(units)
        exponent = amount.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return format_usd(amount, max(2, min(places, 6 if abs(amount) < 1 else 4)))
    return spell(unit_of(dimension, concurrency), units)


def format_reset(at: datetime | None, tz: ZoneInfo) -> str:
    """`2026-12-01 00:00 UTC` in the configured timezone; `never` for budgets that do not reset."""
    if at is None:
        return "never"
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or tz.key}"


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def refusal_notice(
    shortfall: Shortfall,
    *,
    tz: ZoneInfo,
    action: str,
    reset: datetime | None,
    provider: str,
    model: str,
    to: tuple[str, str] | None = None,
    local_only: bool = False,
    run: str | None = None,
    waited: float | None = None,
) -> str:
    """The user-facing sentence for a refusal, a fallback or a queue timeout.

    A budget's own `notice` template wins; it may use {id} {name} {scope} {period} {limit} {spent}
    {reserved} {remaining} {requested} {resets_at} {provider} {model} {to} {run}.
    """
    need = shortfall.need
    policy = need.applied.policy
    dim = shortfall.dimension
    resets = format_reset(reset, tz)
    head = f"{policy.name} budget exhausted" if policy.name else f"Budget '{policy.id}' exhausted"
    if dim == "concurrent":
        allowed = human_amount(dim, shortfall.limit, policy.concurrency)
        head = f"{policy.name or f'Budget {policy.id!r}'} allows {allowed}"
    fields = _Fields(
        id=policy.id,
        name=policy.name or policy.id,
        scope=need.applied.scope_label,
        period=policy.period.label,
        limit=human_amount(dim, shortfall.limit, policy.concurrency),
        spent=human_amount(dim, shortfall.spent, policy.concurrency),
        reserved=human_amount(dim, shortfall.reserved, policy.concurrency),
        remaining=human_amount(dim, shortfall.remaining, policy.concurrency),
        requested=human_amount(dim, shortfall.requested, policy.concurrency),
        resets_at=resets,
        provider=provider,
        model=model,
        to=f"{to[0]}/{to[1]}" if to else "",
        run=run or "",
    )
    if policy.notice:
        return string.Formatter().vformat(policy.notice, (), fields)
    until = f"until {resets}" if reset is not None else "(it does not reset)"
    detail = (
        f"{fields['scope']}, {fields['period']}: {fields['spent']} spent + {fields['reserved']} reserved of "
        f"{fields['limit']}; this call needs up to {fields['requested']}"
    )
    if action == Action.FALLBACK and to is not None:
        if local_only:
            return f"{policy.name or 'Cloud'} budget exhausted, operating local-only {until}"
        return f"{head}, using {fields['to']} instead of {provider}/{model} {until}"
    if action == Action.TERMINATE_RUN or shortfall.terminated:
        who = f"Run {run!r}" if run else "The run"
        return f"{who} terminated: {head} ({detail}); its further calls are refused"
    if waited is not None:
        return f"{head} ({detail}); waited {waited:.1f}s in the queue without room coming free"
    if action == Action.WARN:
        return f"{head} ({detail}); warn only, the call proceeds"
    return f"{head} ({detail}); calls are refused {until}"
