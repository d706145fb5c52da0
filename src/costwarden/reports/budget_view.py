"""Budgets as reports see them: what each limit of each budget has used in its current window, in the limit's
own unit (USD, tokens, requests, concurrent calls or runs), and where the recent rate takes it by the reset.

Two sources, one shape (`BudgetLine`) and one projection (`project_use`, the burn rate of
`costwarden.reports.forecast`): the ledger (`budget_states`, `budget_lines`: `forecast`, `watch`) and the
budget engine's counters (`engine_lines`, `row_projections`: `budget status`, `report`), which are a cache of
the same ledger. Ledger figures are recorded use (reservations of calls in flight are not included). A budget
scoped per value (`scope: project` without `value`) gives one line per value seen in the window.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from costwarden.core.periods import PeriodKind
from costwarden.core.policy import Limits, Policy
from costwarden.core.units import Unit, amount, unit_of
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.forecast import DEFAULT_WINDOW_DAYS, Projection, project, rate_window
from costwarden.reports.model import BudgetLine
from costwarden.storage.ledger import EventQuery, Totals
from costwarden.storage.totals import add_totals, empty_totals

if TYPE_CHECKING:
    from costwarden.budgets.status import BudgetStatus

__all__ = [
    "BudgetState",
    "budget_states",
    "budget_lines",
    "policies_of",
    "engine_lines",
    "row_projections",
    "project_use",
    "used_of",
    "first_seen",
    "live_counts",
]

_RESETTING = (PeriodKind.HOUR, PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH)
_LIMITED = ("cost", "tokens", "requests")

Key = tuple[str | None, ...]


def used_of(totals: Totals, dimension: str) -> Decimal:
    """What a budget dimension (`cost`, `tokens`, `requests`) counts in a row of sums: USD or a count."""
    if dimension == "cost":
        return totals.cost
    return Decimal(totals.total_tokens if dimension == "tokens" else totals.requests)


def first_seen(aggregator: Aggregator) -> datetime | None:
    """The start of the history (None when retention cut it: the history is longer than the events)."""
    if aggregator.coverage().events_before is not None:
        return None
    first = next(iter(aggregator.ledger.events(limit=1)), None)
    return None if first is None else first.occurred_at


def project_use(
    dimension: str,
    used: Decimal,
    recent: Totals | None,
    rate_start: datetime,
    now: datetime,
    period_end: datetime | None,
    limit: Decimal | None,
) -> Projection:
    """The one projection of a budget's use: `used` so far in the period plus the rate of `recent` (the use
    over `[rate_start, now)`) times the days left until `period_end`, in the dimension's unit."""
    return project(
        spent=used,
        recent_cost=used_of(recent, dimension) if recent is not None else Decimal(0),
        window_start=rate_start,
        now=now,
        period_end=period_end,
        limit=limit,
        whole=dimension != "cost",
    )


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One budget (or one value of a per-value budget) in its current window, from the ledger."""

    policy: Policy
    scope_value: str | None
    key: tuple[str | None, ...]
    """The values of the policy's per-value fields (`policy.per`) this state is for."""
    limits: Limits
    start: datetime | None
    end: datetime | None
    used: Totals
    recent: Totals | None
    """The use over the burn-rate window `[rate_start, now)` (None: the period does not reset)."""
    rate_start: datetime
    now: datetime

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

    @property
    def engine_scope(self) -> str:
        """How the budget engine names this state's counters: `project=web|agent=a`, `global` without any."""
        parts = [f"{name}={next(iter(values))}" for name, values in self.policy.match if len(values) == 1]
        parts += [f"{name}={value}" for name, value in zip(self.policy.per, self.key, strict=True)]
        return "|".join(parts) or "global"

    def unit(self, dimension: str) -> Unit:
        return unit_of(dimension, self.policy.concurrency)

    def projection(self, dimension: str = "cost") -> Projection | None:
        """Where the recent rate takes this dimension by the reset (None when the period does not reset)."""
        if self.recent is None:
            return None
        limit = self.limits.of(dimension)
        return project_use(
            dimension,
            used_of(self.used, dimension),
            self.recent,
            self.rate_start,
            self.now,
            self.end,
            amount(self.unit(dimension), limit) if limit is not None else None,
        )


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
    per_value_limit: int = 10,
    values: Mapping[str, str | None] | None = None,
) -> list[BudgetState]:
    """Every policy with a limit, in the window holding `now` (the burn rate over the last `window_days`,
    cut to the history).

    Run budgets (`period: run`) are listed only through their per-run values seen today; rolling windows are
    shown without a projection (they never reset at a fixed time). With `values` (the fields of one call:
    project, session, model, `tag:NAME`...) only the budgets that would count that call are returned.
    """
    states: list[BudgetState] = []
    first_event = first_seen(aggregator) if policies else None
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
        resets = kind in _RESETTING
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
            rec = (recent.get(key) or empty_totals()) if resets else None
            states.append(BudgetState(policy, value, key, limits, start, end, used, rec, r_start, now))
    return states


def _percent(used: Decimal, limit: Decimal) -> Decimal:
    if limit == 0:
        return Decimal(100) if used else Decimal(0)
    return (used * 100 / limit).quantize(Decimal("0.1"))


def _state(policy: Policy, remaining: Decimal, percent: Decimal) -> str:
    if remaining <= 0:
        return "exhausted"
    top = policy.thresholds[-1].percent if policy.thresholds else None
    return "warning" if top is not None and percent >= top else "ok"


def _days_left(resets: datetime | None, now: datetime) -> Decimal | None:
    if resets is None:
        return None
    return Decimal(max(0.0, (resets - now).total_seconds()) / 86400).quantize(Decimal("0.01"))


def budget_lines(
    states: Sequence[BudgetState], now: datetime, live: Mapping[tuple[str, str], int] | None = None
) -> list[BudgetLine]:
    """States as report lines, one per limit, each in its own unit. Concurrency limits need the engine's
    live counters (`live`, from `live_counts`); without them they are left out (the ledger cannot tell)."""
    lines: list[BudgetLine] = []
    for s in states:
        policy = s.policy
        resets = s.end if policy.period.resets else None
        for dimension in (*_LIMITED, "concurrent"):
            limit_units = s.limits.of(dimension)
            if limit_units is None:
                continue
            unit = s.unit(dimension)
            limit = amount(unit, limit_units)
            if dimension == "concurrent":
                if live is None:
                    continue
                used = Decimal(live.get((policy.id, s.engine_scope), 0))
            else:
                used = used_of(s.used, dimension)
            remaining = max(Decimal(0), limit - used)
            percent = _percent(used, limit)
            lines.append(
                BudgetLine(
                    id=policy.id,
                    name=s.label,
                    scope=policy.scope,
                    period=policy.period.label,
                    unit=unit,
                    limit=limit,
                    used=used,
                    remaining=remaining,
                    percent_used=percent,
                    resets_at=None if dimension == "concurrent" else resets,
                    days_left=None if dimension == "concurrent" else _days_left(resets, now),
                    projection=None if dimension == "concurrent" else s.projection(dimension),
                    action=policy.action.value,
                    scope_value=s.engine_scope,
                    state=_state(policy, remaining, percent),
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


def _key_of(policy: Policy, scope: str) -> Key:
    """The values of `policy.per` in an engine scope label (`project=web|agent=a`)."""
    found: dict[str, str] = {}
    for part in scope.split("|"):
        name, sep, value = part.partition("=")
        if sep:
            found.setdefault(name, value)
    return tuple(found.get(name) for name in policy.per)


def row_projections(
    rows: Sequence[BudgetStatus],
    aggregator: Aggregator,
    now: datetime,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> list[Projection | None]:
    """The projection of each budget engine row (`budget_status`): its counters' use plus the ledger's recent
    rate for the same budget and scope value (`project_use`), None for limits that do not reset."""
    first = first_seen(aggregator) if rows else None
    r_start, r_end = rate_window(now, window_days, first)
    recent: dict[str, dict[Key, Totals]] = {}
    out: list[Projection | None] = []
    for row in rows:
        policy = row.policy
        if row.dimension == "concurrent" or policy.period.kind not in _RESETTING or row.resets_at is None:
            out.append(None)
            continue
        if policy.id not in recent:
            recent[policy.id] = _summed(aggregator, r_start, r_end, policy)
        unit = row.unit
        out.append(
            project_use(
                row.dimension,
                amount(unit, row.spent),
                recent[policy.id].get(_key_of(policy, row.scope)),
                r_start,
                now,
                row.resets_at,
                amount(unit, row.limit),
            )
        )
    return out


def live_counts(engine: Any) -> dict[tuple[str, str], int] | None:
    """Calls (or runs) in flight per concurrency budget and scope, from the budget engine's live counters;
    None when `engine` is not a `BudgetEngine`."""
    from costwarden.budgets import BudgetEngine

    if not isinstance(engine, BudgetEngine):
        return None
    out: dict[tuple[str, str], int] = {}
    for policy in engine.policies.policies:
        if policy.limits.concurrent is None and not any(
            o.concurrent is not None for o in policy.overrides.values()
        ):
            continue
        for key, state in engine.store.counters(policy.id).items():
            scope, _, period = key[len(policy.id) + 1 :].rpartition("|")
            if period == "live":
                out[(policy.id, scope or "global")] = state.reserved.concurrent
    return out


def _line_name(row: BudgetStatus) -> str:
    """`Name`, or `Name [value]` for a budget scoped per value."""
    name = row.policy.name or row.policy.id
    return name if row.scope in ("global", "") else f"{name} [{row.scope}]"


def _most_used(rows: Sequence[BudgetStatus], per_budget: int) -> list[BudgetStatus]:
    """The `per_budget` rows of each budget that `engine_lines` lists (highest percentage used, then name),
    chosen before any line is built: a budget scoped per session can have a row for every session."""
    grouped: dict[str, list[BudgetStatus]] = {}
    for row in rows:
        grouped.setdefault(row.policy.id, []).append(row)
    out: list[BudgetStatus] = []
    for group in grouped.values():
        out.extend(sorted(group, key=lambda r: (-r.percent, _line_name(r)))[:per_budget])
    return out


def engine_lines(
    engine: Any,
    aggregator: Aggregator,
    now: datetime,
    per_budget: int | None = 10,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> list[BudgetLine] | None:
    """The budget engine's own view (its counters: what admission enforces) as report lines, one per limit in
    its own unit, with reservations; None when `engine` is not a `BudgetEngine`. For budgets scoped per value
    (per run, per project...) the `per_budget` most used values (all with None)."""
    from costwarden.budgets import BudgetEngine
    from costwarden.budgets.status import budget_status

    if not isinstance(engine, BudgetEngine):
        return None
    rows = budget_status(engine, now)
    if per_budget is not None:
        rows = _most_used(rows, per_budget)
    projections = row_projections(rows, aggregator, now, window_days=window_days)
    grouped: dict[str, list[BudgetLine]] = {}
    for row, projection in zip(rows, projections, strict=True):
        policy = row.policy
        unit = row.unit
        line = BudgetLine(
            id=policy.id,
            name=_line_name(row),
            scope=policy.scope,
            period=policy.period.label,
            unit=unit,
            limit=amount(unit, row.limit),
            used=amount(unit, row.spent),
            remaining=amount(unit, row.remaining),
            percent_used=row.percent,
            resets_at=row.resets_at,
            days_left=_days_left(row.resets_at, now),
            projection=projection,
            action=policy.action.value,
            reserved=amount(unit, row.reserved),
            scope_value=row.scope,
            state=row.state,
        )
        grouped.setdefault(policy.id, []).append(line)
    out: list[BudgetLine] = []
    for lines in grouped.values():
        ranked = sorted(lines, key=lambda b: (-b.percent_used, b.name))
        out.extend(ranked if per_budget is None else ranked[:per_budget])
    return out
