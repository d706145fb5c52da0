"""The budget engine the Warden uses: admission (reserve all or nothing, then warn / block / terminate /
queue / fall back), settlement, release, run slots, alerts and rebuilds, over any `CounterStore`."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costwarden.budgets.alerts import AlertHub
from costwarden.budgets.store import (
    AlertRecord,
    BudgetRecords,
    Counted,
    CounterStore,
    Hold,
    Reservation,
    ReserveResult,
    Spend,
)
from costwarden.core.admission import (
    Amounts,
    Need,
    Shortfall,
    combined,
    counter_key,
    crossings,
    human_amount,
    refusal_notice,
    resets_at,
)
from costwarden.core.calls import Admission, CallRequest, Decision
from costwarden.core.money import from_units, to_units
from costwarden.core.periods import Period, PeriodKind, Window
from costwarden.core.policy import (
    Action,
    AdmissionConfig,
    AlertsConfig,
    Applied,
    BudgetConfig,
    Limits,
    Policy,
    PolicySet,
    compile_policies,
    compile_policy,
)
from costwarden.core.routing import ProviderRegistry, Route
from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution, UsageEvent, new_event_id
from costwarden.errors import BudgetExceeded, QueueTimeout, RunTerminated
from costwarden.ledger.base import EventQuery, Ledger

__all__ = ["BudgetEngine", "WorstCase", "RunSlot"]

WorstCase = Callable[[CallRequest, str, str], Decimal]
"""Prices a request's worst case as if sent to (provider, model)."""
_log = logging.getLogger("costwarden.budgets")
_LIVE = "live"


@dataclass(frozen=True, slots=True)
class _Wait:
    seconds: float


@dataclass(slots=True)
class RunSlot:
    """A run's concurrency slot (None id: no `concurrency: runs` budget applied)."""

    reservation_id: str | None
    attribution: Attribution


def _rank(shortfall: Shortfall) -> int:
    action = shortfall.need.applied.policy.action
    if shortfall.terminated or action is Action.TERMINATE_RUN:
        return 0
    if shortfall.dimension == "concurrent" or action is Action.QUEUE:
        return 2
    if action is Action.FALLBACK:
        return 3
    return 1


class BudgetEngine:
    """Implements the Warden's `BudgetController` over a `CounterStore` (+ `BudgetRecords` for the feed)."""

    def __init__(
        self,
        *,
        store: CounterStore,
        worst_case: WorstCase,
        budgets: Sequence[BudgetConfig] = (),
        records: BudgetRecords | None = None,
        registry: ProviderRegistry | None = None,
        alerts: AlertsConfig | None = None,
        admission: AdmissionConfig | None = None,
        tz: Any = None,
        default_max_tokens: int = 4096,
        hub: AlertHub | None = None,
        clock: Callable[[], float] = time.time,
        ledger: Ledger | None = None,
    ) -> None:
        from zoneinfo import ZoneInfo

        self.store = store
        self.records = records
        self.ledger = ledger
        self.registry = registry if registry is not None else ProviderRegistry()
        self.alerts_config = alerts if alerts is not None else AlertsConfig()
        self.config = admission if admission is not None else AdmissionConfig()
        self.tz = tz if tz is not None else ZoneInfo("UTC")
        self.default_max_tokens = default_max_tokens
        self.hub = hub if hub is not None else AlertHub(records)
        self.clock = clock
        self._worst_case = worst_case
        self._config_budgets = list(budgets)
        self._config_ids = {b.id for b in self._config_budgets}
        self._policies: PolicySet | None = None
        self._version: str | None = None
        self._version_checked = 0.0
        self._windows: dict[Period, tuple[Window, float]] = {}
        self._next_reclaim = 0.0
        self._freed = threading.Condition()
        self._terminated: dict[str, dict[str, Any]] = {}
        self.shadowed: tuple[str, ...] = ()
        """Ids of budgets saved from the CLI that a config budget of the same id overrides."""
        self.pid = os.getpid()
        self.host = socket.gethostname()

    # -- policies ----------------------------------------------------------------------------------------

    @property
    def policies(self) -> PolicySet:
        """Config budgets plus those saved from the CLI (config wins on the same id), re-read when changed."""
        now = time.monotonic()
        if self._policies is None or (self.records is not None and now >= self._version_checked):
            self._version_checked = now + self.config.refresh
            version = self.records.budgets_version() if self.records is not None else ""
            if self._policies is None or version != self._version:
                self._version = version
                self._policies = PolicySet(self._compile())
        return self._policies

    def _compile(self) -> list[Policy]:
        policies = compile_policies(self._config_budgets, self.alerts_config)
        shadowed: list[str] = []
        if self.records is not None:
            for saved in self.records.saved_budgets():
                if saved.id in self._config_ids:
                    shadowed.append(saved.id)
                    continue
                try:
                    config = BudgetConfig.model_validate({**saved.definition, "id": saved.id})
                except ValueError as exc:
                    _log.warning("ignoring saved budget %r: %s", saved.id, exc)
                    continue
                if config.enabled:
                    policies.append(compile_policy(config, self.alerts_config.thresholds, origin="cli"))
        self.shadowed = tuple(shadowed)
        return policies

    def _window(self, period: Period, now: float) -> Window:
        cached = self._windows.get(period)
        if cached is not None and now < cached[1]:
            return cached[0]
        at = datetime.fromtimestamp(now, UTC)
        window = period.window(at, self.tz)
        if period.kind is PeriodKind.ROLLING:
            size = period.bucket_seconds
            valid = (now // size + 1) * size
        elif window.end is not None:
            valid = window.end.timestamp()
        else:
            valid = float("inf")
        self._windows[period] = (window, valid)
        return window

    def window(self, policy: Policy, now: float | None = None) -> Window:
        """The current window of a policy's period."""
        return self._window(policy.period, self.clock() if now is None else now)

    # -- needs and spends --------------------------------------------------------------------------------

    def _needs(self, applied: Sequence[Applied], amounts: Amounts, now: float) -> list[Need]:
        out: list[Need] = []
        for item in applied:
            policy = item.policy
            limits = item.limits
            if limits.concurrent is not None:
                live = counter_key(policy.id, item.scope_key, _LIVE)
                window = Window(_LIVE, None, None, (_LIVE,))
                out.append(
                    Need(
                        Applied(policy, item.scope_key, Limits(concurrent=limits.concurrent)),
                        live,
                        (live,),
                        window,
                        Amounts(concurrent=1),
                    )
                )
                if limits.cost is None and limits.tokens is None and limits.requests is None:
                    continue
                item = Applied(policy, item.scope_key, Limits(limits.cost, limits.tokens, limits.requests))  # noqa: PLW2901
            window = self._window(policy.period, now)
            key = counter_key(policy.id, item.scope_key, window.key)
            keys = (
                (key,)
                if len(window.keys) == 1
                else tuple(counter_key(policy.id, item.scope_key, k) for k in window.keys)
            )
            out.append(Need(item, key, keys, window, Amounts(amounts.cost, amounts.tokens, amounts.requests)))
        return out

    def _spends(self, event: UsageEvent, sign: int, now: float, current_only: bool = False) -> list[Spend]:
        applied = self.policies.applicable(event.attribution, event.provider, event.model)
        if not applied:
            return []
        usage = event.usage
        amounts = Amounts(sign * to_units(event.cost_total), sign * usage.total_tokens, sign * usage.requests)
        at = event.occurred_at
        out: list[Spend] = []
        for item in applied:
            limits = item.limits
            if limits.cost is None and limits.tokens is None and limits.requests is None:
                continue
            period = item.policy.period
            window = self._window(period, now)
            if period.kind is PeriodKind.ROLLING:
                bucket = period.bucket_key(at, self.tz)
                keys = tuple(counter_key(item.policy.id, item.scope_key, k) for k in window.keys)
                if current_only and bucket not in window.keys:
                    continue
            else:
                bucket = window.key if window.contains(at) else period.bucket_key(at, self.tz)
                keys = ()
                if current_only and bucket != window.key:
                    continue
            out.append(
                Spend(counter_key(item.policy.id, item.scope_key, bucket), amounts, item, bucket, keys)
            )
        return out

    def _spends_for(self, event: UsageEvent, previous: UsageEvent | None) -> list[Spend]:
        now = self.clock()
        spends = self._spends(event, 1, now)
        if previous is not None:
            spends += self._spends(previous, -1, now)
        return spends

    # -- admission ---------------------------------------------------------------------------------------

    def admit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        """Reserve the worst case on every applicable budget, or wait (queue), fall back, or raise."""
        started = time.monotonic()
        while True:
            outcome = self._attempt(request, worst_case, started)
            if isinstance(outcome, Admission):
                return outcome
            with self._freed:
                self._freed.wait(outcome.seconds)

    async def aadmit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        """`admit` for async code: queued calls wait without blocking the event loop."""
        started = time.monotonic()
        while True:
            outcome = self._attempt(request, worst_case, started)
            if isinstance(outcome, Admission):
                return outcome
            await asyncio.sleep(outcome.seconds)

    def _amounts(self, request: CallRequest, worst_case: Decimal) -> Amounts:
        output = request.max_tokens if request.max_tokens is not None else self.default_max_tokens
        return Amounts(to_units(worst_case), request.input_tokens + output, 1)

    def _reserve(
        self, needs: list[Need], now: float, label: str, kind: str = "call"
    ) -> tuple[str, ReserveResult]:
        reservation_id = new_event_id()
        ttl = self.config.reservation_ttl if kind == "call" else self.config.run_ttl
        reservation = Reservation(
            id=reservation_id,
            holds=tuple(Hold(n.key, n.amounts) for n in needs),
            deadline=now + ttl,
            pid=self.pid,
            host=self.host,
            kind=kind,
            label=label,
            created=now,
        )
        result = self.store.reserve(reservation, needs)
        if not result.ok and self.store.reclaim(now):
            result = self.store.reserve(reservation, needs)
        return reservation_id, result

    def _maybe_reclaim(self, now: float) -> None:
        if now >= self._next_reclaim:
            self._next_reclaim = now + self.config.reclaim_interval
            if self.store.reclaim(now):
                self._notify_freed()

    def _attempt(self, request: CallRequest, worst_case: Decimal, started: float) -> Admission | _Wait:
        run = request.attribution.run
        if run is not None and run in self._terminated:
            raise RunTerminated(**self._terminated[run])
        now = self.clock()
        self._maybe_reclaim(now)
        provider, model = request.provider, request.model
        applied = self.policies.applicable(request.attribution, provider, model)
        if not applied:
            return Admission(request=request, provider=provider, model=model)
        needs = self._needs(applied, self._amounts(request, worst_case), now)
        reservation_id, result = self._reserve(needs, now, f"{provider}/{model}")
        if result.ok:
            return self._admitted(
                request,
                provider=provider,
                model=model,
                worst_case=worst_case,
                reservation_id=reservation_id,
                result=result,
            )
        decisive = min(result.shortfalls, key=_rank)
        rank = _rank(decisive)
        if rank == 0:
            self._terminate(request, result.shortfalls, decisive)
        if rank == 2:
            timeout = decisive.need.applied.policy.queue_timeout
            waited = time.monotonic() - started
            if waited < timeout:
                return _Wait(min(self.config.queue_poll, timeout - waited))
            raise self._refuse(request, decisive, "queue_timeout", QueueTimeout, waited=waited)
        if rank == 3 and request.allow_fallback:
            admission = self._fallback(request, decisive, now)
            if admission is not None:
                return admission
        raise self._refuse(request, decisive, "block", BudgetExceeded)

    def _admitted(
        self,
        request: CallRequest,
        *,
        provider: str,
        model: str,
        worst_case: Decimal,
        reservation_id: str,
        result: ReserveResult,
        decision: Decision = Decision.ALLOW,
        notices: tuple[str, ...] = (),
        reason: str | None = None,
    ) -> Admission:
        for over in result.over:
            notice = self._notice(over, "warn", provider, model)
            notices = (*notices, notice)
            self._record(over, "warn", request, notice, level="warning")
            if decision is Decision.ALLOW:
                decision, reason = (
                    Decision.WARN,
                    reason or f"over warn-only budget {over.need.applied.policy.id!r}",
                )
        return Admission(
            request=request,
            provider=provider,
            model=model,
            decision=decision,
            reserved=worst_case,
            reservation_ids=(reservation_id,),
            notices=notices,
            reason=reason,
        )

    def _fallback(self, request: CallRequest, decisive: Shortfall, now: float) -> Admission | None:
        policy = decisive.need.applied.policy
        tokens = request.input_tokens + (request.max_tokens or self.default_max_tokens)
        spec = policy.fallback or (("chain",) if self.registry else ())
        costs: dict[tuple[str, str], Decimal] = {}

        def cost_of(route: Route) -> Decimal:
            pair = (route.provider, route.model)
            if pair not in costs:
                costs[pair] = self._worst_case(request, route.provider, route.model)
            return costs[pair]

        candidates = self.registry.candidates(
            refused=(request.provider, request.model),
            spec=spec,
            explicit=request.fallbacks,
            capabilities=request.capabilities,
            tokens=tokens,
            order=policy.fallback_order,
            cost_of=cost_of,
        )
        for route in candidates:
            worst = cost_of(route)
            applied = self.policies.applicable(request.attribution, route.provider, route.model)
            notice = self._notice(decisive, "fallback", request.provider, request.model, to=route)
            reason = (
                f"budget {policy.id!r} has no room for {request.provider}/{request.model}; "
                f"using {route.provider}/{route.model}"
            )
            if not applied:
                self._record(decisive, "fallback", request, notice, to=route)
                return Admission(
                    request=request,
                    provider=route.provider,
                    model=route.model,
                    decision=Decision.FALLBACK,
                    notices=(notice,),
                    reason=reason,
                )
            needs = self._needs(applied, self._amounts(request, worst), now)
            reservation_id, result = self._reserve(needs, now, f"{route.provider}/{route.model}")
            if result.ok:
                self._record(decisive, "fallback", request, notice, to=route)
                return self._admitted(
                    request,
                    provider=route.provider,
                    model=route.model,
                    worst_case=worst,
                    reservation_id=reservation_id,
                    result=result,
                    decision=Decision.FALLBACK,
                    notices=(notice,),
                    reason=reason,
                )
        return None

    def _notice(
        self,
        shortfall: Shortfall,
        action: str,
        provider: str,
        model: str,
        *,
        to: Route | None = None,
        run: str | None = None,
        waited: float | None = None,
    ) -> str:
        return refusal_notice(
            shortfall,
            tz=self.tz,
            action=action,
            reset=resets_at(shortfall.need, shortfall.oldest),
            provider=provider,
            model=model,
            to=(to.provider, to.model) if to is not None else None,
            local_only=to is not None and to.local and self.registry.kind(provider) != "local",
            run=run,
            waited=waited,
        )

    def _details(self, shortfall: Shortfall) -> dict[str, Any]:
        need = shortfall.need
        dim = shortfall.dimension

        def value(units: int) -> Decimal | int:
            return from_units(units) if dim == "cost" else units

        return {
            "budget_id": need.applied.policy.id,
            "scope": need.applied.scope_label,
            "period": need.applied.policy.period.label,
            "limit": value(shortfall.limit),
            "spent": value(shortfall.spent),
            "reserved": value(shortfall.reserved),
            "requested": value(shortfall.requested),
            "resets_at": resets_at(need, shortfall.oldest),
            "unit": {"cost": "cost_usd"}.get(dim, dim),
        }

    def _refuse(
        self, request: CallRequest, shortfall: Shortfall, kind: str, error: type[BudgetExceeded], **extra: Any
    ) -> BudgetExceeded:
        message = self._notice(shortfall, kind, request.provider, request.model, waited=extra.get("waited"))
        if kind == "block" and shortfall.need.applied.policy.action is Action.FALLBACK:
            message += " (no fallback had room)"
        self._record(shortfall, kind, request, message)
        details = self._details(shortfall)
        if error is QueueTimeout:
            return QueueTimeout(message, waited=float(extra.get("waited", 0.0)), action="queue", **details)
        return BudgetExceeded(message, action=shortfall.need.applied.policy.action.value, **details)

    def _terminate(self, request: CallRequest, shortfalls: Sequence[Shortfall], decisive: Shortfall) -> None:
        run = request.attribution.run
        message = self._notice(decisive, Action.TERMINATE_RUN, request.provider, request.model, run=run)
        for shortfall in shortfalls:
            if _rank(shortfall) == 0 and not shortfall.terminated:
                self.store.terminate(shortfall.need.key)
        if not decisive.terminated:
            self._record(decisive, "terminate_run", request, message, level="critical")
        details = {**self._details(decisive), "action": "terminate_run", "run": run}
        if run is not None:
            self._terminated[run] = {"message": message, **details}
        raise RunTerminated(message, **details)

    def _record(
        self,
        shortfall: Shortfall,
        kind: str,
        request: CallRequest,
        message: str,
        *,
        to: Route | None = None,
        level: str = "critical",
    ) -> None:
        need = shortfall.need
        details: dict[str, Any] = {
            "provider": request.provider,
            "model": request.model,
            "request_id": request.request_id,
        }
        details.update({k: v for k, v in vars_of(request.attribution).items() if v})
        if to is not None:
            details["fallback"] = f"{to.provider}/{to.model}"
        self.hub.emit(
            AlertRecord(
                kind=kind,
                at=datetime.fromtimestamp(self.clock(), UTC),
                budget_id=need.applied.policy.id,
                scope=need.applied.scope_label,
                period_key=need.window.key,
                dimension=shortfall.dimension,
                level=level if kind != "fallback" else "warning",
                message=message,
                limit=shortfall.limit,
                spent=shortfall.spent,
                reserved=shortfall.reserved,
                requested=shortfall.requested,
                resets_at=resets_at(need, shortfall.oldest),
                details=details,
            )
        )

    # -- settlement --------------------------------------------------------------------------------------

    def settle(self, admission: Admission, event: UsageEvent) -> None:
        """Append the event, drop the reservation and count the real cost (one transaction on SQL)."""
        reservation_id = admission.reservation_ids[0] if admission.reservation_ids else None
        if reservation_id is None and self.ledger is not None and not self.policies:
            self.ledger.append(event)
            return
        counted = self.store.settle(reservation_id, [event], self._spends_for)
        if reservation_id is not None:
            self._notify_freed()
        if counted:
            self._alerts(counted)

    def release(self, admission: Admission) -> None:
        for reservation_id in admission.reservation_ids:
            self.store.release(reservation_id)
        self._notify_freed()

    def recorded(self, events: Sequence[UsageEvent]) -> None:
        """Append events that had no admission (imports, `record`) and count them."""
        if self.ledger is not None and not self.policies:
            self.ledger.append_many(events) if len(events) > 1 else self.ledger.append(events[0])
            return
        counted = self.store.settle(None, events, self._spends_for)
        if counted:
            self._alerts(counted)

    def _notify_freed(self) -> None:
        with self._freed:
            self._freed.notify_all()

    def _alerts(self, counted: Sequence[Counted]) -> None:
        rolling: dict[str, Any] = {}
        for item in counted:
            spend = item.spend
            applied = spend.applied
            if applied is None or not applied.policy.thresholds or spend.amounts.cost < 0:
                continue
            before, after = item.before, item.before + spend.amounts
            if spend.window_keys:
                if not rolling:
                    rolling.update(self.store.states([k for c in counted for k in c.spend.window_keys]))
                after = combined(spend.window_keys, rolling).spent
                before = after - spend.amounts
            for crossing in crossings(applied, spend.key, spend.period_key, before, after):
                threshold = crossing.threshold
                policy = applied.policy
                limit = human_amount(crossing.dimension, crossing.limit)
                message = threshold.message or (
                    f"{policy.name or f'Budget {policy.id!r}'} "
                    f"({applied.scope_label}, {policy.period.label}) "
                    f"reached {threshold.percent:g}% of its {limit} limit: "
                    f"{human_amount(crossing.dimension, crossing.spent)} spent"
                )
                self.hub.emit(
                    AlertRecord(
                        kind="threshold",
                        at=datetime.fromtimestamp(self.clock(), UTC),
                        budget_id=policy.id,
                        scope=applied.scope_label,
                        period_key=spend.period_key,
                        dimension=crossing.dimension,
                        level=threshold.level,
                        message=message,
                        limit=crossing.limit,
                        spent=crossing.spent,
                        threshold=f"{threshold.percent:g}",
                    )
                )

    # -- runs --------------------------------------------------------------------------------------------

    def enter_run(self, attribution: Attribution) -> RunSlot:
        """Take a concurrency slot for a run (`concurrency: runs` budgets), queueing up to their timeout."""
        started = time.monotonic()
        while True:
            outcome = self._attempt_run(attribution, started)
            if isinstance(outcome, RunSlot):
                return outcome
            with self._freed:
                self._freed.wait(outcome.seconds)

    async def aenter_run(self, attribution: Attribution) -> RunSlot:
        started = time.monotonic()
        while True:
            outcome = self._attempt_run(attribution, started)
            if isinstance(outcome, RunSlot):
                return outcome
            await asyncio.sleep(outcome.seconds)

    def _attempt_run(self, attribution: Attribution, started: float) -> RunSlot | _Wait:
        if attribution.run is not None and attribution.run in self._terminated:
            raise RunTerminated(**self._terminated[attribution.run])
        applied = self.policies.applicable(attribution, "", "", runs=True)
        if not applied:
            return RunSlot(None, attribution)
        now = self.clock()
        self._maybe_reclaim(now)
        needs = self._needs(applied, Amounts(), now)
        reservation_id, result = self._reserve(needs, now, f"run {attribution.run or ''}".strip(), kind="run")
        if result.ok:
            return RunSlot(reservation_id, attribution)
        decisive = result.shortfalls[0]
        timeout = decisive.need.applied.policy.queue_timeout
        waited = time.monotonic() - started
        if waited < timeout:
            return _Wait(min(self.config.queue_poll, timeout - waited))
        request = CallRequest(provider="-", model="-", attribution=attribution)
        raise self._refuse(request, decisive, "queue_timeout", QueueTimeout, waited=waited)

    def exit_run(self, slot: RunSlot) -> None:
        if slot.reservation_id is not None:
            self.store.release(slot.reservation_id)
            self._notify_freed()

    def forget_run(self, run: str) -> None:
        """Drop this process's memory of a terminated run (its counters stay terminated)."""
        self._terminated.pop(run, None)

    # -- maintenance -------------------------------------------------------------------------------------

    def rebuild(self) -> int:
        """Recompute every budget's current counters from the ledger; returns the counters written."""
        if self.ledger is None:
            raise ValueError("rebuilding counters needs the ledger")
        ledger = self.ledger
        policies = self.policies
        now = self.clock()
        starts: list[datetime | None] = [self._window(p.period, now).start for p in policies.policies]
        start = (
            None if any(s is None for s in starts) or not starts else min(s for s in starts if s is not None)
        )

        def compute() -> Mapping[str, Amounts]:
            spent: dict[str, Amounts] = {}
            for event in ledger.events(EventQuery(start=start)):
                for spend in self._spends(event, 1, now, current_only=True):
                    spent[spend.key] = spent.get(spend.key, Amounts()) + spend.amounts
            return spent

        return self.store.rebuild([p.id for p in policies.policies], compute)

    def close(self) -> None:
        self.store.close()
        if self.records is not None and id(self.records) != id(self.store):
            self.records.close()


def vars_of(attribution: Attribution) -> dict[str, Any]:
    """Attribution fields as a flat mapping (tags as `tag:NAME`)."""
    out: dict[str, Any] = {name: getattr(attribution, name) for name in ATTRIBUTION_FIELDS}
    out.update({f"tag:{k}": v for k, v in attribution.tags.items()})
    return out
