"""Budgets as reports see them: what each budget's current window has used, from the ledger, and where the
recent burn rate takes it by the reset (`costwarden report`'s budget status and `costwarden forecast`).

The ledger is the truth: figures here are recorded spend (reservations of calls in flight are not included).
A budget scoped per value (`scope: project` without `value`) gives one line per value seen in the window.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from costwarden.core.money import from_units
from costwarden.core.periods import PeriodKind
from costwarden.core.policy import Limits, Policy
from costwarden.ledger.base import EventQuery, Totals
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.forecast import DEFAULT_WINDOW_DAYS, Projection, project, rate_window
from costwarden.reports.model import BudgetLine
from costwarden.reports.totals import add_totals, empty_totals

__all__ = ["BudgetState", "budget_states", "budget_lines", "policies_of", "engine_lines"]

Key = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One budget (or one value of a per-value budget) in its current window."""

    policy: Policy
    scope_value: str | None
    key: tuple[str | None, ...]
    """The values of the policy's per-value fields (`policy.per`) this state is for."""
    limits: Limits
    start: datetime | None
    end: datetime | None
    used: Totals
    projection: Projection | None

    def applies_to(self, values: Mapping[str, str | None]) -> bool:
        """Whether this budget counts a call with these field values (`project`, `model`, `tag:NAME`...)."""
        for name, allowed in self.policy.match:
            if values.get(name) not in allowed:
                return False
        return all(values.get(name) == value for name, value in zip(self.policy.per, self.key, strict=True))

    @property
    def label(self) -> str:
        name = self.policy.name or self.policy.id
        return f"{name} [{self.scope_value}]" if self.scope_value else name


def _narrowed(policy: Policy, values: Mapping[str, str | None]) -> Policy:
    """The policy restricted to the per-value key of `values` (its `per` fields become filters too)."""
    from dataclasses import replace

    extra = tuple((name, frozenset([str(values.get(name))])) for name in policy.per)
    return replace(policy, match=(*policy.match, *extra))


def _wheres(policy: Policy) -> list[dict[str, str | None]]:
    names = [name for name, _ in policy.match]
    choices = [sorted(values) for _, values in policy.match]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)] or [{}]


def _summed(
    aggregator: Aggregator, start: datetime | None, end: datetime | None, policy: Policy
) -> dict[Key, Totals]:
    out: dict[Key, Totals] = {}
    for where in _wheres(policy):
        query = EventQuery(start=start, end=end, where=where)
        for row in aggregator.totals(query, policy.per):
            if any(v is None for v in row.key):
                continue
            have = out.get(row.key)
            out[row.key] = row if have is None else add_totals(have, row)
    return out


def budget_states(
    aggregator: Aggregator,
    policies: Sequence[Policy],
    now: datetime,
    tz: ZoneInfo,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    first_event: datetime | None = None,
    per_value_limit: int = 10,
    values: Mapping[str, str | None] | None = None,
) -> list[BudgetState]:
    """Every policy with a cost, token or request limit, in the window holding `now`.

    Run budgets (`period: run`) are listed only through their per-run values seen today; rolling windows are
    shown without a projection (they never reset at a fixed time). With `values` (the fields of one call:
    project, session, model, `tag:NAME`...) only the budgets that would count that call are returned.
    """
    states: list[BudgetState] = []
    for declared in policies:
        if declared.limits.empty() and not declared.overrides:
            continue
        policy = declared
        if values is not None:
            if any(values.get(name) not in allowed for name, allowed in declared.match):
                continue
            if any(values.get(name) is None for name in declared.per):
                continue
            policy = _narrowed(declared, values)
        kind = policy.period.kind
        window = policy.period.window(now, tz)
        start, end = window.start, window.end
        if kind is PeriodKind.ROLLING:
            start, end = now - timedelta(seconds=policy.period.seconds), None
        elif kind is PeriodKind.RUN:
            start, end = None, None
        used_by_key = _summed(aggregator, start, end, policy)
        if not policy.per:
            used_by_key.setdefault((), empty_totals())
        ranked = sorted(used_by_key.items(), key=lambda kv: (-kv[1].cost, tuple(v or "" for v in kv[0])))
        recent: dict[Key, Totals] = {}
        resets = kind in (PeriodKind.HOUR, PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH)
        r_start, r_end = rate_window(now, window_days, first_event)
        if resets:
            recent = _summed(aggregator, r_start, r_end, policy)
        shown = min(per_value_limit, 3) if kind is PeriodKind.RUN else per_value_limit  # runs: the top ones
        for key, used in ranked[:shown]:
            value = "|".join(f"{n}={v}" for n, v in zip(policy.per, key, strict=True)) or None
            scope_value = key[policy.per.index(policy.scope)] if policy.scope in policy.per else None
            limits = policy.limits_for(scope_value)
            if limits.empty():
                continue
            projection = None
            if resets:
                rec = recent.get(key)
                projection = project(
                    spent=used.cost,
                    recent_cost=rec.cost if rec is not None else Decimal(0),
                    window_start=r_start,
                    now=now,
                    period_end=end,
                    limit=from_units(limits.cost) if limits.cost is not None else None,
                )
            states.append(BudgetState(policy, value, key, limits, start, end, used, projection))
    return states


def _percent(used: Decimal, limit: Decimal) -> Decimal:
    if limit == 0:
        return Decimal(100)
    return (used * 100 / limit).quantize(Decimal("0.1"))


def budget_lines(states: Sequence[BudgetState], now: datetime) -> list[BudgetLine]:
    """States as report lines: money limits first; token-only budgets show tokens."""
    lines: list[BudgetLine] = []
    for s in states:
        limits = s.limits
        cost_limit = from_units(limits.cost) if limits.cost is not None else None
        if cost_limit is not None:
            remaining: Decimal | None = max(Decimal(0), cost_limit - s.used.cost)
            pct: Decimal | None = _percent(s.used.cost, cost_limit)
        elif limits.tokens is not None:
            remaining = Decimal(max(0, limits.tokens - s.used.total_tokens))
            pct = _percent(Decimal(s.used.total_tokens), Decimal(limits.tokens))
        elif limits.requests is not None:
            remaining = Decimal(max(0, limits.requests - s.used.requests))
            pct = _percent(Decimal(s.used.requests), Decimal(limits.requests))
        else:
            remaining, pct = None, None
        days_left = s.projection.days_left if s.projection is not None else None
        lines.append(
            BudgetLine(
                id=s.policy.id,
                name=s.label,
                scope=s.policy.scope,
                period=s.policy.period.label,
                limit=cost_limit,
                used=s.used.cost,
                remaining=remaining,
                percent_used=pct,
                resets_at=s.end if s.policy.period.resets else None,
                days_left=days_left,
                projected=s.projection.projected if s.projection is not None else None,
                limit_tokens=limits.tokens,
                used_tokens=s.used.total_tokens,
                action=s.policy.action.value,
            )
        )
    return lines


def policies_of(settings: Any, warden: Any = None) -> list[Policy]:
    """The active budget policies: the budget engine's when it is configured, else the config's `budgets:`."""
    engine = getattr(warden, "budgets", None) if warden is not None else None
    policies = getattr(engine, "policies", None)
    if policies is not None:
        return list(policies.policies if hasattr(policies, "policies") else policies)
    raw = getattr(settings, "budgets", None)
    if not raw:
        return []
    from costwarden.core.policy import AlertsConfig, BudgetConfig, compile_policies

    items = raw if isinstance(raw, list) else raw.get("items", []) if isinstance(raw, dict) else []
    configs = [
        item if isinstance(item, BudgetConfig) else BudgetConfig.model_validate(item) for item in items
    ]
    alerts_raw = getattr(settings, "alerts", None)
    alerts = AlertsConfig.model_validate(alerts_raw) if isinstance(alerts_raw, dict) else None
    return compile_policies(configs, alerts)


def engine_lines(engine: Any, now: datetime, per_budget: int = 10) -> list[BudgetLine] | None:
    """The budget engine's own view (its counters: what admission enforces, reservations included) as report
    lines; None when `engine` is not a `BudgetEngine`. Cost and token limits only; for budgets scoped per
    value (per run, per project...) the `per_budget` most used values."""
    from costwarden.budgets import BudgetEngine
    from costwarden.budgets.status import budget_status

    if not isinstance(engine, BudgetEngine):
        return None
    grouped: dict[str, list[BudgetLine]] = {}
    for row in budget_status(engine, now):
        if row.dimension not in ("cost", "tokens"):
            continue
        policy = row.policy
        cost = row.dimension == "cost"
        name = policy.name or policy.id
        resets = row.resets_at
        left = None
        if resets is not None:
            left = Decimal(max(0.0, (resets - now).total_seconds()) / 86400).quantize(Decimal("0.01"))
        line = BudgetLine(
            id=policy.id,
            name=name if row.scope in ("global", "") else f"{name} [{row.scope}]",
            scope=policy.scope,
            period=policy.period.label,
            limit=from_units(row.limit) if cost else None,
            used=from_units(row.spent) if cost else Decimal(0),
            remaining=from_units(row.remaining) if cost else Decimal(row.remaining),
            percent_used=row.percent,
            resets_at=resets,
            days_left=left,
            projected=from_units(row.projected) if cost and row.projected is not None else None,
            limit_tokens=None if cost else row.limit,
            used_tokens=None if cost else row.spent,
            action=policy.action.value,
        )
        grouped.setdefault(policy.id, []).append(line)
    out: list[BudgetLine] = []
    for lines in grouped.values():
        ranked = sorted(lines, key=lambda b: (-(b.percent_used or 0), b.name))
        out.extend(ranked[:per_budget])
    return out
