"""Where each budget stands now, from its counters: limit, spent, reserved, remaining, percent and reset
time (`costwarden budget status`), each limit with its unit. The projection to the period's end is the
reports' (`costwarden.reports.budget_view.row_projections`), the same figure every view shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from costwarden.budgets.engine import BudgetEngine
from costwarden.core.admission import DIMENSIONS, ZERO, Amounts, CounterState, combined
from costwarden.core.periods import PeriodKind
from costwarden.core.policy import Limits, Policy
from costwarden.core.units import Unit, amount, unit_of

__all__ = ["BudgetStatus", "budget_status"]


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget, one scope value, one limited dimension (`cost`, `tokens`, `requests`, `concurrent`)."""

    policy: Policy
    scope: str
    dimension: str
    limit: int
    spent: int
    reserved: int
    resets_at: datetime | None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent - self.reserved)

    @property
    def percent(self) -> Decimal:
        if not self.limit:
            return Decimal(100) if self.spent or self.reserved else Decimal(0)
        return (Decimal(self.spent) * 100 / Decimal(self.limit)).quantize(Decimal("0.1"))

    @property
    def state(self) -> str:
        """`exhausted` (no room left), `warning` (past the highest threshold) or `ok`."""
        if self.limit - self.spent - self.reserved <= 0:
            return "exhausted"
        top = self.policy.thresholds[-1].percent if self.policy.thresholds else None
        return "warning" if top is not None and self.percent >= top else "ok"

    @property
    def unit(self) -> Unit:
        """What the limit counts: USD, tokens, requests, concurrent calls or concurrent runs."""
        return unit_of(self.dimension, self.policy.concurrency)

    def amount(self, units: int) -> Decimal:
        """Units as people read them: USD for cost, counts otherwise."""
        return amount(self.unit, units)


def _limits_for(policy: Policy, scope: str) -> Limits:
    if policy.scope in policy.per:
        prefix = f"{policy.scope}="
        for part in scope.split("|"):
            if part.startswith(prefix):
                return policy.limits_for(part[len(prefix) :])
    return policy.limits


def _unused_scope(policy: Policy) -> str:
    """How a budget without counters in its window names its scope: `each project`, `project=web`, ``."""
    if policy.per:
        return " and ".join(f"each {name}" for name in policy.per)
    return "|".join(f"{name}={next(iter(values))}" for name, values in policy.match if len(values) == 1)


def _fold_finished_runs(rows: list[BudgetStatus]) -> list[BudgetStatus]:
    """The rows of one per-run budget with the finished runs (nothing reserved, no call in flight) folded
    into one line per unit: `80 finished runs`, their spend summed against their limits summed."""
    active = {r.scope for r in rows if r.reserved or (r.dimension == "concurrent" and r.spent)}
    finished = [r for r in rows if r.scope not in active]
    runs = len({r.scope for r in finished})
    if runs < 2:
        return rows
    label = f"{runs} finished runs"
    folded: list[BudgetStatus] = []
    for dimension in DIMENSIONS:
        group = [r for r in finished if r.dimension == dimension]
        if group:
            folded.append(
                BudgetStatus(
                    policy=group[0].policy,
                    scope=label,
                    dimension=dimension,
                    limit=sum(r.limit for r in group),
                    spent=sum(r.spent for r in group),
                    reserved=0,
                    resets_at=None,
                )
            )
    return folded + [r for r in rows if r.scope in active]


def budget_status(engine: BudgetEngine, now: datetime | None = None) -> list[BudgetStatus]:
    """Every budget's current window, per scope value seen (a budget never used shows one zero line), at
    `now` (default: the engine's clock). The runs of a per-run budget that have finished (nothing reserved,
    no call in flight) are folded into one line per unit, `N finished runs`."""
    at = now if now is not None else engine.clock.now()
    out: list[BudgetStatus] = []
    for policy in engine.policies.policies:
        rows = _policy_status(engine, policy, at)
        out += _fold_finished_runs(rows) if "run" in policy.per else rows
    return out


def _policy_status(engine: BudgetEngine, policy: Policy, at: datetime) -> list[BudgetStatus]:
    stamp = at.timestamp()
    out: list[BudgetStatus] = []
    window = engine.window(policy, stamp)
    counters = engine.counters(policy, stamp)  # never writes: a reader does not wait for writers
    scopes: dict[str, dict[str, tuple[Amounts, Amounts]]] = {}
    for key, state in counters.items():
        scope, _, period = key[len(policy.id) + 1 :].rpartition("|")
        if period in window.keys or period == "live":
            scopes.setdefault(scope, {})[period] = (state.spent, state.reserved)
    if not scopes:
        scopes[_unused_scope(policy)] = {}
    for scope, periods in sorted(scopes.items()):
        limits = _limits_for(policy, scope)
        states = {p: s for p, s in periods.items() if p != "live"}
        keys = [k for k in window.keys if k in states]
        summed = combined(keys, {k: CounterState(*states[k]) for k in keys}) if keys else None
        spent = summed.spent if summed else ZERO
        reserved = summed.reserved if summed else ZERO
        live = periods.get("live", (ZERO, ZERO))[1]
        resets = window.end if policy.period.resets and policy.period.kind is not PeriodKind.ROLLING else None
        if policy.period.kind is PeriodKind.ROLLING and summed is not None and summed.oldest is not None:
            resets = policy.period.bucket_end(summed.oldest)
        for dimension in DIMENSIONS:
            limit = limits.of(dimension)
            if limit is None:
                continue
            used = live.concurrent if dimension == "concurrent" else spent.of(dimension)
            held = 0 if dimension == "concurrent" else reserved.of(dimension)
            label = scope or "global"
            out.append(
                BudgetStatus(
                    policy=policy,
                    scope=label,
                    dimension=dimension,
                    limit=limit,
                    spent=used,
                    reserved=held,
                    resets_at=None if dimension == "concurrent" else resets,
                )
            )
    return out
