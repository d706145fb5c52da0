"""Never the same wall twice: a provider account whose quota is exhausted is avoided until its reset.

A **wall** is the newest reading of a window of a provider account that says nothing is left: a window
with 0 remaining or at 100 % utilization, a `rejected` / `exhausted` status (a Claude Code limit hit), or a
refused call (HTTP 429). An exhausted window stands until its reset (`reset_at`); a refusal as long as its
`retry-after` asked, else `cooldown` seconds. A wall falls as soon as a later reading of that account is
not exhausted (the provider accepted a call since).

Before a call is admitted (`Warden.admit`), `ExhaustionGate.plan` looks for a wall on the call's provider
and account (the tag `account`, default `default`) and applies the account's strategy (its plan's
`on_exhausted`, default `fallback`):

- `fallback`: the first fallback route without a wall (the call's own `fallbacks`, then the provider
  registry's chain; capabilities and context window checked, as for budget fallbacks); none: refused;
- `wait`: waits for the reset when it comes within the plan's `max_wait`, else refused at once;
- `refuse`: refused with the reset time (`QuotaExhausted`, a `BudgetExceeded`).

Walls are read from the quota readings every process shares (cached for `cache_seconds`; a reading this
process records is seen at once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from costwarden.clock import Clock
from costwarden.core.admission import format_reset
from costwarden.core.calls import CallRequest
from costwarden.core.routing import ProviderRegistry
from costwarden.errors import QuotaExhausted
from costwarden.quotas.plans import SubscriptionConfig
from costwarden.quotas.tracker import Quotas
from costwarden.storage.quotas import DEFAULT_ACCOUNT, QuotaReading

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Wall", "Routed", "ExhaustionGate", "QuotaRoutingConfig", "walls_of", "account_of"]

_LOOKBACK = timedelta(days=8)
"""Readings older than this raise no wall (the longest window a provider reports is a week)."""


class QuotaRoutingConfig(BaseModel):
    """The `quota_routing:` section: use what you pay for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefer_subscriptions: bool = False
    """Send a call for a pay-per-token provider to a `kind: subscription` route of the registry that can
    serve it and has spare quota (no wall; its newest readings under `spare_below_percent`)."""
    spare_below_percent: float = Field(default=90.0, gt=0, le=100)


@dataclass(frozen=True, slots=True)
class Wall:
    """A provider account that has nothing left until `until` (None: unknown, `cooldown` applied)."""

    provider: str
    account: str
    window: str
    until: datetime
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class Routed:
    """What to admit: the request as asked, or another route (`notice` says why)."""

    request: CallRequest
    notice: str | None = None
    wall: Wall | None = None


def account_of(request: CallRequest) -> str:
    return request.attribution.tags.get("account") or DEFAULT_ACCOUNT


def walls_of(readings: Sequence[QuotaReading], now: datetime, cooldown: float) -> list[Wall]:
    """The walls standing at `now` among the newest readings of one provider account."""
    cleared = max(
        (
            r.observed_at
            for r in readings
            if not r.exhausted and r.status_code != 429 and r.observed_at <= now
        ),
        default=None,
    )
    out: list[Wall] = []
    for reading in readings:
        if not (reading.exhausted or reading.status_code == 429) or reading.observed_at > now:
            continue
        if cleared is not None and reading.observed_at < cleared:
            continue  # the provider accepted a call since
        if reading.exhausted and reading.reset_at is not None and reading.reset_at > reading.observed_at:
            until = reading.reset_at  # the window itself has nothing left until its reset
        elif reading.retry_after is not None:  # refused (429): as long as the provider asked to wait
            until = reading.observed_at + timedelta(seconds=reading.retry_after)
        else:
            until = reading.observed_at + timedelta(seconds=cooldown)
        if until > now:
            out.append(Wall(reading.provider, reading.account, reading.window, until, reading.observed_at))
    return out


class ExhaustionGate:
    """Routes calls around exhausted provider accounts (see the module docstring)."""

    def __init__(
        self,
        quotas: Quotas,
        *,
        plans: Sequence[SubscriptionConfig] = (),
        registry: ProviderRegistry | None = None,
        clock: Clock,
        tz: ZoneInfo,
        routing: QuotaRoutingConfig | None = None,
        cooldown: float = 60.0,
        cache_seconds: float = 1.0,
        default_max_tokens: int = 4096,
    ) -> None:
        self.quotas = quotas
        self.plans = {(p.provider, p.account): p for p in plans}
        self.registry = registry if registry is not None else ProviderRegistry()
        self.clock = clock
        self.tz = tz
        self.routing = routing if routing is not None else QuotaRoutingConfig()
        self.cooldown = cooldown
        self.cache_seconds = cache_seconds
        self.default_max_tokens = default_max_tokens
        self._cache: tuple[int, float, dict[tuple[str, str], list[QuotaReading]]] | None = None

    def _readings(self, provider: str, account: str) -> list[QuotaReading]:
        """The newest readings of one account: from one read of every account's newest readings, cached
        for `cache_seconds` unless this process recorded something since."""
        version = self.quotas.version
        cached = self._cache
        if cached is None or cached[0] != version or time.monotonic() >= cached[1]:
            grouped: dict[tuple[str, str], list[QuotaReading]] = {}
            since = self.clock.now() - _LOOKBACK
            for reading in self.quotas.readings(since=since):
                grouped.setdefault((reading.provider, reading.account), []).append(reading)
            cached = (self.quotas.version, time.monotonic() + self.cache_seconds, grouped)
            self._cache = cached
        return cached[2].get((provider, account), [])

    def wall(self, provider: str, account: str = DEFAULT_ACCOUNT) -> Wall | None:
        """The wall standing now for a provider account (the one that stands longest), or None."""
        walls = walls_of(self._readings(provider, account), self.clock.now(), self.cooldown)
        return max(walls, key=lambda w: w.until) if walls else None

    def plan(self, request: CallRequest, started: float) -> Routed | float:
        """The route to admit, or how long to wait before asking again; raises `QuotaExhausted`."""
        account = account_of(request)
        wall = self.wall(request.provider, account)
        if wall is None:
            if self.routing.prefer_subscriptions and request.allow_fallback:
                spare = self._spare(request)
                if spare is not None:
                    return spare
            return Routed(request)
        plan = self.plans.get((request.provider, account))
        strategy = plan.on_exhausted if plan is not None else "fallback"
        now = self.clock.now()
        if strategy == "wait":
            max_wait = plan.max_wait if plan is not None else 60.0
            left = (wall.until - now).total_seconds()
            waited = time.monotonic() - started
            if left <= max_wait - waited:
                return min(left, 0.25) if left > 0 else 0.0
            raise self._refusal(wall, "wait", f"waiting {left:.0f}s would pass max_wait {max_wait:g}s")
        if strategy == "fallback" and request.allow_fallback:
            routed = self._fallback(request, wall)
            if routed is not None:
                return routed
            raise self._refusal(wall, "fallback", "no fallback route without a wall")
        raise self._refusal(wall, "refuse", None)

    def _fallback(self, request: CallRequest, wall: Wall) -> Routed | None:
        output = request.max_tokens if request.max_tokens is not None else self.default_max_tokens
        candidates = self.registry.candidates(
            refused=(request.provider, request.model),
            spec=("chain",) if self.registry else (),
            explicit=request.fallbacks,
            capabilities=request.capabilities,
            tokens=request.input_tokens + output,
        )
        account = account_of(request)
        for route in candidates:
            other = account if route.provider == request.provider else DEFAULT_ACCOUNT
            if self.wall(route.provider, other) is not None:
                continue
            notice = (
                f"{wall.provider}/{wall.account} quota exhausted ({wall.window}) until "
                f"{format_reset(wall.until, self.tz)}; using {route.provider}/{route.model} instead of "
                f"{request.provider}/{request.model}"
            )
            return Routed(replace(request, provider=route.provider, model=route.model), notice, wall)
        return None

    def _spare(self, request: CallRequest) -> Routed | None:
        """A subscription route with spare quota for a call to a pay-per-token provider, or None."""
        if not self.registry or self.registry.kind(request.provider) == "subscription":
            return None
        output = request.max_tokens if request.max_tokens is not None else self.default_max_tokens
        candidates = self.registry.candidates(
            refused=(request.provider, request.model),
            spec=("kind:subscription",),
            capabilities=request.capabilities,
            tokens=request.input_tokens + output,
        )
        for route in candidates:
            if self.wall(route.provider) is not None:
                continue
            used = [r.used_fraction for r in self._readings(route.provider, DEFAULT_ACCOUNT)]
            known = [u for u in used if u is not None]
            top = max(known, default=0.0) * 100
            if top >= self.routing.spare_below_percent:
                continue
            notice = (
                f"using spare subscription quota of {route.provider}/{route.model} ({top:.0f}% used) instead "
                f"of pay-per-token {request.provider}/{request.model}"
            )
            return Routed(replace(request, provider=route.provider, model=route.model), notice)
        return None

    def _refusal(self, wall: Wall, action: str, why: str | None) -> QuotaExhausted:
        until = format_reset(wall.until, self.tz)
        message = (
            f"{wall.provider}/{wall.account} quota exhausted ({wall.window}): calls are refused until {until}"
        )
        if why:
            message += f" ({why})"
        return QuotaExhausted(
            message,
            provider=wall.provider,
            account=wall.account,
            window=wall.window,
            resets_at=wall.until,
            action=action,
        )
