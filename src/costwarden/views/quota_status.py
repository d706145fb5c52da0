"""Subscriptions and quotas at one moment: each configured plan's windows (used / limit or %, reset,
projected at reset), its billing period's value at API prices against its price, and the newest reading of
every window any source reported. `quota_status_view(warden, QuotaQuery())` answers `costwarden quota
report` and `quota status --json` (`costwarden.quota_status/1`); `quota_statusline(warden)` is the short
line (`5h: 62% | week: 31%`) for a status bar."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from costwarden.quotas.learned import LearnedCap, applies_to, learned_cap
from costwarden.quotas.plans import SubscriptionConfig, WindowConfig
from costwarden.quotas.usage import PlanUsage, WindowUsage, counted_amount, window_bounds, window_usage
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.formats import money
from costwarden.reports.periods import utc_iso
from costwarden.storage.ledger import EventQuery, WhereValue
from costwarden.storage.quotas import DEFAULT_ACCOUNT, QuotaReading
from costwarden.views.errors import QueryError
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "QUOTA_SCHEMA",
    "QuotaQuery",
    "QuotaStatusResult",
    "quota_status_view",
    "quota_statusline",
    "plan_json",
    "reading_json",
]

QUOTA_SCHEMA = "costwarden.quota_status/1"
_TOP_PROJECTS = 5
_TICK = timedelta(microseconds=1)
_HIT_HISTORY = timedelta(days=90)
"""How far back limit hits are read to learn a window's cap."""


@dataclass(frozen=True, slots=True)
class QuotaQuery:
    """Narrow to one provider (and account)."""

    provider: str | None = None
    account: str | None = None


def _amount(window: WindowConfig, value: Decimal | None) -> str | int | None:
    if value is None:
        return None
    return money(value) if window.unit == "usd" else int(value)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else utc_iso(at)


def window_json(usage: WindowUsage) -> dict[str, Any]:
    window = usage.window
    learned = usage.learned
    return {
        "name": window.name,
        "unit": window.unit,
        "reset": window.reset.spelled,
        "source": usage.source,
        "used": _amount(window, usage.used),
        "limit": _amount(window, usage.limit),
        "remaining": _amount(window, usage.remaining),
        "percent": None if usage.percent is None else str(usage.percent),
        "start": _iso(usage.start),
        "reset_at": _iso(usage.reset_at),
        "projected_percent": None if usage.projected_percent is None else str(usage.projected_percent),
        "observed_at": _iso(usage.observed_at),
        "exhausted": usage.exhausted,
        "by_project": [{"project": p, "used": _amount(window, v)} for p, v in usage.by_project],
        "learned_limit": None
        if learned is None
        else {
            "estimate": _amount(window, learned.estimate),
            "low": _amount(window, learned.low),
            "high": _amount(window, learned.high),
            "observations": learned.observations,
            "confidence": learned.confidence,
        },
    }


def plan_json(plan: PlanUsage) -> dict[str, Any]:
    config = plan.plan
    price = config.price_usd
    return {
        "provider": config.provider,
        "account": config.account,
        "plan": config.plan,
        "name": config.name,
        "label": config.label,
        "price_usd": None if price is None else money(price),
        "billing": {
            "reset": config.billing.spelled,
            "start": _iso(plan.billing_start),
            "end": _iso(plan.billing_end),
        },
        "value_usd": money(plan.value_usd),
        "value_percent_of_price": (
            str((plan.value_usd / price * 100).quantize(Decimal("0.1"))) if price else None
        ),
        "requests": plan.requests,
        "tokens": plan.tokens,
        "utilization_percent": None if plan.utilization is None else str(plan.utilization),
        "exhausted": plan.exhausted,
        "windows": [window_json(w) for w in plan.windows],
    }


def reading_json(reading: QuotaReading, at: datetime) -> dict[str, Any]:
    fraction = reading.used_fraction
    return {
        "provider": reading.provider,
        "account": reading.account,
        "window": reading.window,
        "source": reading.source,
        "observed_at": utc_iso(reading.observed_at),
        "age_seconds": max(0, int((at - reading.observed_at).total_seconds())),
        "limit": reading.limit,
        "remaining": reading.remaining,
        "used": reading.used,
        "unit": reading.unit,
        "used_percent": None if fraction is None else f"{fraction * 100:.1f}",
        "reset_at": _iso(reading.reset_at),
        "status": reading.status,
        "status_code": reading.status_code,
        "retry_after": reading.retry_after,
    }


@dataclass(frozen=True, slots=True)
class QuotaStatusResult:
    SCHEMA: ClassVar[str] = QUOTA_SCHEMA

    at: datetime
    plans: tuple[PlanUsage, ...]
    readings: tuple[QuotaReading, ...]
    """The newest reading of every window reported (plans' windows included)."""

    @property
    def statusline(self) -> str:
        """`5h: 62% | week: 31%`: the known percent of each plan window; with several plans each is named
        by its account (or, on the default account, its plan)."""
        parts: list[str] = []
        several = len(self.plans) > 1
        for plan in self.plans:
            config = plan.plan
            prefix = config.account if config.account != DEFAULT_ACCOUNT else (config.plan or config.provider)
            for usage in plan.windows:
                if usage.percent is None:
                    continue
                name = f"{prefix} {usage.window.name}" if several else usage.window.name
                parts.append(f"{name}: {usage.percent.normalize():f}%")
        return " | ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": QUOTA_SCHEMA,
            "at": utc_iso(self.at),
            "plans": [plan_json(p) for p in self.plans],
            "readings": [reading_json(r, self.at) for r in self.readings],
            "statusline": self.statusline,
        }


def _projects(
    aggregator: Aggregator, window: WindowConfig, query: EventQuery
) -> tuple[tuple[str, Decimal], ...]:
    rows = aggregator.totals(query, ("project",))
    pairs = [(row.key[0] or "(none)", counted_amount(window, row)) for row in rows]
    pairs.sort(key=lambda p: (-p[1], p[0]))
    return tuple((name, amount) for name, amount in pairs[:_TOP_PROJECTS] if amount)


def _learned(
    aggregator: Aggregator,
    window: WindowConfig,
    hits: list[QuotaReading],
    where: dict[str, WhereValue],
    tz: ZoneInfo,
) -> LearnedCap | None:
    """The cap learned from the limit hits that apply to `window` (one observation per block)."""
    observations: list[Decimal] = []
    covered: datetime | None = None
    for hit in hits:
        if not applies_to(hit, window) or (covered is not None and hit.observed_at < covered):
            continue
        start, end = window_bounds(window, hit.observed_at, tz)
        if start is None:
            continue
        totals = aggregator.total(EventQuery(start=start, end=hit.observed_at + _TICK, where=where))
        observations.append(counted_amount(window, totals))
        covered = end if end is not None else hit.observed_at + timedelta(seconds=window.reset.seconds)
    return learned_cap(observations)


def plan_usage(
    warden: Warden,
    aggregator: Aggregator,
    plan: SubscriptionConfig,
    readings: dict[tuple[str, str, str], QuotaReading],
    at: datetime,
    hits: list[QuotaReading] | None = None,
) -> PlanUsage:
    """One plan's windows and billing period at `at` (inside the aggregator's snapshot); `hits`: the
    account's limit hits, oldest first (for the learned caps)."""
    hits = hits or []
    tz = plan.tz(warden.settings.tz)
    until = at + _TICK  # an event at this very moment counts
    where: dict[str, WhereValue] = filters_of(warden, plan.match())
    windows: list[WindowUsage] = []
    for window in plan.windows:
        reading = readings.get((plan.provider, plan.account, window.reading)) if window.reading else None
        totals = None
        projects: tuple[tuple[str, Decimal], ...] = ()
        learned = None
        if window.unit != "percent":
            start, _ = window_bounds(window, at, tz)
            query = EventQuery(start=start, end=until, where=where)
            totals = aggregator.total(query)
            projects = _projects(aggregator, window, query)
            learned = _learned(aggregator, window, hits, where, tz)
        usage = window_usage(window, at, tz, reading=reading, totals=totals, by_project=projects)
        windows.append(replace(usage, learned=learned) if learned is not None else usage)
    start, end = plan.billing.window(at, tz)
    billed = aggregator.total(EventQuery(start=start, end=until, where=where))
    return PlanUsage(
        plan=plan,
        at=at,
        windows=tuple(windows),
        billing_start=start,
        billing_end=end,
        value_usd=billed.cost,
        requests=billed.requests,
        tokens=billed.total_tokens,
    )


def quota_status_view(warden: Warden, query: QuotaQuery) -> QuotaStatusResult:
    """Every configured plan (narrowed by `query`) and every reported window at the Warden's "now"."""
    plans = [
        p
        for p in warden.settings.subscriptions
        if (query.provider is None or p.provider == query.provider)
        and (query.account is None or p.account == query.account)
    ]
    if query.account is not None and query.provider is None:
        raise QueryError("--account needs --provider")
    at = warden.clock.now()
    latest = warden.quotas.readings(provider=query.provider, account=query.account)
    by_window = {(r.provider, r.account, r.window): r for r in latest}
    aggregator = aggregator_of(warden)
    since = at - _HIT_HISTORY
    with aggregator.snapshot():
        usages = tuple(
            plan_usage(warden, aggregator, plan, by_window, at, _hits(warden, plan, since, at))
            for plan in plans
        )
    return QuotaStatusResult(at=at, plans=usages, readings=tuple(latest))


def _hits(warden: Warden, plan: SubscriptionConfig, since: datetime, at: datetime) -> list[QuotaReading]:
    """The account's limit hits (exhausted readings) since `since`, oldest first."""
    history = warden.quotas.store.history(
        provider=plan.provider, account=plan.account, since=since, until=at + _TICK
    )
    return [r for r in history if r.exhausted]


def quota_statusline(warden: Warden) -> str:
    """The quota segment of a status bar: `5h: 62% | week: 31%` (empty when no plan window is known)."""
    return quota_status_view(warden, QuotaQuery()).statusline
