"""Insights (seed 001): where money could be saved, each with its evidence and an estimated monthly saving
computed from the fleet's real token mix.

- **premium model on small outputs**: an agent calls a model of the top cost tiers but its calls write
  little; the same calls are priced on a cheaper model one tier down (one the fleet already uses when there
  is one) and the difference is the saving.
- **high error rate**: an agent's calls fail often; the money spent on failed calls is the saving.
- **large inputs without cache reads**: an agent sends big prompts over and over and never reads from the
  prompt cache; the same calls are priced with most of that input read from the cache (plus one cache write
  per session) and the difference is the saving.

Savings are per month: the period's saving scaled to 30 days, over the days the period was active (from
its first event, at least one day). Each insight has a
stable id (kind and subject), so a dismissal (`costwarden insights --dismiss ID`) is remembered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from costwarden.core.usage import Usage
from costwarden.pricing.book import PriceBook
from costwarden.pricing.tiers import TierBook
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.formats import money
from costwarden.reports.periods import Period
from costwarden.storage.ledger import EventQuery, Totals

__all__ = [
    "InsightSettings",
    "Insight",
    "find_insights",
    "insight_id",
    "insight_json",
    "average_usage",
    "cheaper_model",
]

_MONTH_DAYS = Decimal(30)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class InsightSettings:
    """Thresholds of the insights."""

    min_calls: int = 5
    small_output_tokens: int = 1_000
    """Average output tokens per call at or below which a premium-tier model is suspicious."""
    premium_tiers: tuple[str, ...] | None = None
    """Tiers flagged as premium (None: the most expensive tier defined)."""
    error_rate_percent: Decimal = Decimal(10)
    large_input_tokens: int = 10_000
    """Average uncached input tokens per call from which missing cache reads are flagged."""
    cacheable_share: Decimal = Decimal("0.8")
    """Share of a large input assumed cacheable (the repeated prefix: system prompt, tools, context)."""


@dataclass(frozen=True, slots=True)
class Insight:
    """One suggestion."""

    id: str
    kind: str
    title: str
    suggestion: str
    evidence: dict[str, Any]
    monthly_saving: Decimal
    subject: dict[str, str | None] = field(default_factory=dict)
    dismissed: bool = False


@dataclass(frozen=True, slots=True)
class _Context:
    aggregator: Aggregator
    pricebook: PriceBook
    tiers: TierBook
    cfg: InsightSettings
    query: EventQuery
    at: datetime
    active_days: Decimal
    used: tuple[tuple[str, str], ...]


def insight_id(kind: str, *subject: str | None) -> str:
    """A short stable id of an insight: `kind` and its subject (agent, model...)."""
    text = "\x1f".join([kind, *(s or "" for s in subject)])
    return f"{kind[:3]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def average_usage(row: Totals) -> Usage:
    """The average call of a group (token counts rounded half-even)."""
    n = max(1, row.events)

    def avg(value: int) -> int:
        return int((Decimal(value) / n).to_integral_value(rounding=ROUND_HALF_EVEN))

    output = avg(row.output_tokens)
    return Usage(
        input_tokens=avg(row.input_tokens),
        cache_read_tokens=avg(row.cache_read_tokens),
        cache_write_tokens=avg(row.cache_write_tokens),
        cache_write_1h_tokens=avg(row.cache_write_1h_tokens),
        output_tokens=output,
        reasoning_tokens=min(output, avg(row.reasoning_tokens)),
        web_search_requests=avg(row.web_search_requests),
    )


def cheaper_model(
    pricebook: PriceBook,
    tiers: TierBook,
    provider: str,
    model: str,
    *,
    at: datetime,
    used: Sequence[tuple[str, str]] = (),
) -> tuple[str, str] | None:
    """A model of the same provider one cost tier below `model`: one the fleet already uses when there is
    one, else the catalog's priciest model of that tier (the closest in capability)."""
    tier = tiers.tier_for_model(pricebook, provider, model, at)
    order = [t.id for t in tiers.all()]
    if tier is None or order.index(tier) == 0:
        return None
    below = order[order.index(tier) - 1]

    def tier_of(candidate: tuple[str, str]) -> str | None:
        return tiers.tier_for_model(pricebook, candidate[0], candidate[1], at)

    seen = [c for c in used if c[0] == provider and c[1] != model and tier_of(c) == below]
    if seen:
        return sorted(seen)[0]
    catalog = [(p, m) for p, m in pricebook.known_models(provider) if m != model and "latest" not in m]
    priced: list[tuple[Decimal, str, str]] = []
    for p, m in catalog:
        rates = pricebook.rates(p, m, at)
        if rates is not None and tiers.classify(rates) == below:
            priced.append((tiers.blended_price(rates), p, m))
    if not priced:
        return None
    _, p, m = max(priced)
    return (p, m)


def _price_calls(c: _Context, target: tuple[str, str], usage: Usage, calls: int) -> Decimal:
    return c.pricebook.price_usage(target[0], target[1], usage, c.at).total * calls


def _monthly(amount: Decimal, active_days: Decimal) -> Decimal:
    days = max(Decimal(1), active_days)
    return (amount * _MONTH_DAYS / days).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _active_days(aggregator: Aggregator, query: EventQuery) -> Decimal:
    """Days of activity the period's spend covers: from its first event (or its start, when retention has
    cut the events) to its end; at least one day."""
    assert query.start is not None and query.end is not None
    start = query.start
    horizon = aggregator.coverage().events_before
    if horizon is None or horizon <= start:
        first = next(iter(aggregator.ledger.events(query, limit=1)), None)
        if first is not None:
            start = max(start, first.occurred_at)
    days = Decimal((query.end - start).total_seconds()) / 86400
    return max(Decimal(1), days).quantize(Decimal("0.01"))


def _percent(part: int, whole: int) -> Decimal:
    return Decimal(0) if not whole else (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


def find_insights(
    aggregator: Aggregator,
    pricebook: PriceBook,
    tiers: TierBook,
    period: Period,
    *,
    now: datetime,
    settings: InsightSettings | None = None,
    dismissed: Sequence[str] = (),
) -> list[Insight]:
    """Every insight of `period` (up to `now`), biggest saving first; dismissed ones are marked."""
    cfg = settings or InsightSettings()
    end = min(period.end, now)
    query = EventQuery(start=period.start, end=end)
    active_days = _active_days(aggregator, query)
    groups = [
        r for r in aggregator.totals(query, ("agent", "provider", "model")) if r.events >= cfg.min_calls
    ]
    used = tuple(sorted({(str(r.key[1]), str(r.key[2])) for r in groups}))
    c = _Context(aggregator, pricebook, tiers, cfg, query, end, active_days, used)
    found: list[Insight] = []
    for row in groups:
        found += _premium(c, row)
        found += _no_cache(c, row)
    found += _errors(c)
    hidden = set(dismissed)
    marked = [
        Insight(**{**{f: getattr(i, f) for f in Insight.__dataclass_fields__}, "dismissed": i.id in hidden})
        for i in found
    ]
    return sorted(marked, key=lambda i: (-i.monthly_saving, i.kind, i.id))


def _subject(row: Totals) -> tuple[str | None, str, str]:
    agent, provider, model = row.key
    assert provider is not None and model is not None
    return agent, provider, model


def _premium(c: _Context, row: Totals) -> list[Insight]:
    agent, provider, model = _subject(row)
    tier = c.tiers.tier_for_model(c.pricebook, provider, model, c.at)
    premium = c.cfg.premium_tiers or (c.tiers.all()[-1].id,)
    if tier not in premium:
        return []
    average = average_usage(row)
    if average.output_tokens > c.cfg.small_output_tokens:
        return []
    alternative = cheaper_model(c.pricebook, c.tiers, provider, model, at=c.at, used=c.used)
    if alternative is None:
        return []
    current = row.cost
    alt_cost = _price_calls(c, alternative, average, row.events)
    saving = current - alt_cost
    if saving <= 0:
        return []
    who = agent or "(no agent)"
    reduction = (saving * 100 / current).quantize(Decimal(1)) if current else Decimal(0)
    return [
        Insight(
            id=insight_id("premium-small-output", agent, provider, model),
            kind="premium-small-output",
            title=f"{who} uses {model} ({tier} tier) but averages {average.output_tokens:,} output tokens "
            "per call",
            suggestion=f"Switch these calls to {alternative[1]}: about {reduction}% less for the same "
            "token mix",
            evidence={
                "agent": agent,
                "model": f"{provider}/{model}",
                "tier": tier,
                "calls": row.events,
                "average_input_tokens": average.total_input_tokens,
                "average_output_tokens": average.output_tokens,
                "cost": money(current),
                "alternative": f"{alternative[0]}/{alternative[1]}",
                "alternative_cost": money(alt_cost.quantize(Decimal("1E-10"))),
            },
            monthly_saving=_monthly(saving, c.active_days),
            subject={"agent": agent, "provider": provider, "model": model},
        )
    ]


def _no_cache(c: _Context, row: Totals) -> list[Insight]:
    agent, provider, model = _subject(row)
    cfg = c.cfg
    average = average_usage(row)
    if average.input_tokens < cfg.large_input_tokens or row.cache_read_tokens > row.input_tokens // 20:
        return []
    rates = c.pricebook.rates(provider, model, c.at)
    if rates is None or rates.cache_read >= rates.input:
        return []
    where = {"agent": agent, "provider": provider, "model": model}
    per_session = EventQuery(start=c.query.start, end=c.query.end, where=where)
    sessions = len(c.aggregator.totals(per_session, ("session",)))
    cached = int(Decimal(average.input_tokens) * cfg.cacheable_share)
    with_cache = Usage(
        input_tokens=average.input_tokens - cached,
        cache_read_tokens=average.cache_read_tokens + cached,
        cache_write_tokens=average.cache_write_tokens,
        cache_write_1h_tokens=average.cache_write_1h_tokens,
        output_tokens=average.output_tokens,
        reasoning_tokens=average.reasoning_tokens,
        web_search_requests=average.web_search_requests,
    )
    writes = Usage(input_tokens=0, cache_write_tokens=cached, output_tokens=0, requests=0)
    alt = _price_calls(c, (provider, model), with_cache, row.events)
    alt += _price_calls(c, (provider, model), writes, max(1, sessions))
    current = _price_calls(c, (provider, model), average, row.events)
    saving = current - alt
    if saving <= 0:
        return []
    who = agent or "(no agent)"
    return [
        Insight(
            id=insight_id("no-cache-reads", agent, provider, model),
            kind="no-cache-reads",
            title=f"{who} sends {average.input_tokens:,} uncached input tokens per call to {model}, "
            "with no cache reads",
            suggestion="Enable prompt caching for the repeated part of the prompt (system prompt, tools, "
            "context)",
            evidence={
                "agent": agent,
                "model": f"{provider}/{model}",
                "calls": row.events,
                "sessions": sessions,
                "average_input_tokens": average.input_tokens,
                "cache_read_tokens": row.cache_read_tokens,
                "assumed_cacheable_share": str(cfg.cacheable_share),
            },
            monthly_saving=_monthly(saving, c.active_days),
            subject={"agent": agent, "provider": provider, "model": model},
        )
    ]


def _errors(c: _Context) -> list[Insight]:
    out: list[Insight] = []
    cfg = c.cfg
    failed_query = EventQuery(start=c.query.start, end=c.query.end, where={"status": "error"})
    failed = {r.key: r for r in c.aggregator.totals(failed_query, ("agent",))}
    for row in c.aggregator.totals(c.query, ("agent",)):
        if row.events < cfg.min_calls or not row.error_events:
            continue
        rate = _percent(row.error_events, row.events)
        if rate < cfg.error_rate_percent:
            continue
        agent = row.key[0]
        wasted = failed[row.key].cost if row.key in failed else Decimal(0)
        who = agent or "(no agent)"
        out.append(
            Insight(
                id=insight_id("high-error-rate", agent),
                kind="high-error-rate",
                title=f"{who} has a high error rate ({rate}% of {row.events:,} calls failed)",
                suggestion="Look at the failures (timeouts, context length, rate limits) and fix prompts or "
                + (
                    "limits; the tokens of failed calls are paid for, and the calls are usually retried"
                    if wasted
                    else "limits; these failures used no billed tokens, but each is usually retried "
                    "and slows the agent"
                ),
                evidence={
                    "agent": agent,
                    "calls": row.events,
                    "failed_calls": row.error_events,
                    "error_rate_percent": str(rate),
                    "cost_of_failed_calls": money(wasted),
                },
                monthly_saving=_monthly(wasted, c.active_days),
                subject={"agent": agent},
            )
        )
    return out


def insight_json(insight: Insight) -> dict[str, Any]:
    return {
        "id": insight.id,
        "kind": insight.kind,
        "title": insight.title,
        "suggestion": insight.suggestion,
        "evidence": insight.evidence,
        "estimated_monthly_saving": money(insight.monthly_saving),
        "subject": insight.subject,
        "dismissed": insight.dismissed,
    }
