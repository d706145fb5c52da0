"""The budget engine the Warden uses: admission (reserve all or nothing, then warn / block / terminate /
queue / fall back), settlement, release, run slots, alerts and rebuilds, over any `CounterStore`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from costwarden.budgets.alerts import AlertHub
from costwarden.budgets.derivation import LedgerCounts
from costwarden.budgets.derived import Derivations, latest
from costwarden.budgets.keys import LIVE, CounterKeys
from costwarden.budgets.notices import Announcer
from costwarden.clock import SYSTEM_CLOCK, Clock
from costwarden.core.admission import Amounts, CounterState, Need, Shortfall, combined, find_shortfall
from costwarden.core.calls import Admission, CallRequest, Decision
from costwarden.core.controller import RunSlot
from costwarden.core.money import to_units
from costwarden.core.periods import Window
from costwarden.core.policy import (
    Action,
    AdmissionConfig,
    AlertsConfig,
    BudgetConfig,
    ExtraThreshold,
    Names,
    Policy,
    PolicySet,
    compile_policies,
    compile_policy,
    with_extra_thresholds,
)
from costwarden.core.routing import ProviderRegistry, Route
from costwarden.core.usage import Attribution, UsageEvent, new_event_id
from costwarden.errors import BudgetExceeded, QueueTimeout, RunTerminated
from costwarden.forking import after_fork_in_child
from costwarden.storage.budgets import (
    BudgetRecords,
    CounterStore,
    Hold,
    Reservation,
    ReserveResult,
    Spend,
)
from costwarden.storage.ledger import Ledger
from costwarden.storage.rollups import RollupSource

__all__ = ["BudgetEngine", "WorstCase", "RunSlot", "Verdict"]

_T = TypeVar("_T")
WorstCase = Callable[[CallRequest, str, str], Decimal]
"""Prices a request's worst case as if sent to (provider, model)."""
_log = logging.getLogger("costwarden.budgets")
_FREE = ReserveResult(True)


@dataclass(frozen=True, slots=True)
class _Wait:
    seconds: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """`BudgetEngine.check`: one budget's answer for a call (shortfall None: it has room)."""

    budget_id: str
    scope: str
    period: str
    enforce: bool
    shortfall: Shortfall | None
    notice: str | None


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
        clock: Clock = SYSTEM_CLOCK,
        ledger: Ledger | None = None,
        names: Names | None = None,
        rollups: RollupSource | None = None,
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
        self.announce = Announcer(
            hub=self.hub,
            clock=clock,
            tz=self.tz,
            names=names,
            kind_of=self.registry.kind,
            states=store.states,
        )
        self.keys = CounterKeys(self.tz)
        self.counting = LedgerCounts(self.keys, rollups)
        self.clock: Clock = clock
        self._worst_case = worst_case
        self.names = names
        """Canonical provider/model names (`PriceBook.canonical`): budgets match calls by them."""
        self._config_budgets = list(budgets)
        self._config_ids = {b.id for b in self._config_budgets}
        self._policies: PolicySet | None = None
        self._fingerprints: dict[str, str] = {}
        self.known: frozenset[str] = frozenset()
        """The ids of the budgets in force (`policies`); a new object whenever they change."""
        self.derived = Derivations(self)
        self._version: str | None = None
        self._version_checked = 0.0
        self._next_reclaim = 0.0
        self._freed = threading.Condition()
        self._terminated: dict[str, dict[str, Any]] = {}
        self.shadowed: tuple[str, ...] = ()
        """Ids of budgets saved from the CLI that a config budget of the same id overrides."""
        self.pid = os.getpid()
        self.host = socket.gethostname()
        after_fork_in_child(self)

    def after_fork_in_child(self) -> None:
        """A forked worker owns its reservations (pid) and waits on its own condition."""
        self.pid = os.getpid()
        self._freed = threading.Condition()

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
                self._policies = PolicySet(self._compile(), self.names)
                fingerprints = {p.id: self._fingerprint(p) for p in self._policies.policies}
                if fingerprints != self._fingerprints:
                    self.derived.clear()  # a definition changed: ask the store what is derived under it
                if fingerprints.keys() != self._fingerprints.keys():
                    self.known = frozenset(fingerprints)
                self._fingerprints = fingerprints
        return self._policies

    def reread_policies(self) -> None:
        """Read the stored budgets again on next use (after this process changed them)."""
        self._version_checked = 0.0

    def _fingerprint(self, policy: Policy) -> str:
        """Changes whenever what a budget counts changes: its definition (limits, scope, filters, period)
        or the timezone its calendar periods are taken in."""
        config = policy.config
        definition = config.model_dump(mode="json") if config is not None else repr(policy)
        text = json.dumps([definition, str(self.tz)], sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

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
                except (ValueError, ArithmeticError) as exc:  # stored by an older version
                    errors = getattr(exc, "errors", None)
                    reason = errors()[0].get("msg", exc) if callable(errors) else exc
                    _log.warning("ignoring budget %r set from the CLI: %s", saved.id, reason)
                    continue
                if config.enabled:
                    policies.append(compile_policy(config, self.alerts_config.thresholds, origin="cli"))
            extras = self._extra_thresholds()
            if extras:
                policies = [with_extra_thresholds(p, extras) for p in policies]
        self.shadowed = tuple(shadowed)
        return policies

    def _extra_thresholds(self) -> list[ExtraThreshold]:
        """Thresholds set with `costwarden alert set --threshold/--amount` (unreadable ones are skipped)."""
        if self.records is None:
            return []
        out: list[ExtraThreshold] = []
        for item in self.records.alert_thresholds():
            try:
                out.append(ExtraThreshold.from_mapping(item))
            except (ValueError, ArithmeticError) as exc:
                _log.warning("ignoring an alert threshold set from the CLI: %s", exc)
        return out

    def window(self, policy: Policy, now: float | None = None) -> Window:
        """The current window of a policy's period."""
        return self.keys.window(policy.period, self.clock() if now is None else now)

    def _spends(self, event: UsageEvent, sign: int, now: float, current_only: bool = False) -> list[Spend]:
        applied = self.policies.applicable(event.attribution, event.provider, event.model)
        return self.keys.spends(applied, event, sign, now, current_only) if applied else []

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
        return self._until(lambda: self._attempt(request, worst_case, started))

    async def aadmit(self, request: CallRequest, worst_case: Decimal) -> Admission:
        """`admit` for async code: queued calls wait without blocking the event loop."""
        started = time.monotonic()
        return await self._auntil(lambda: self._attempt(request, worst_case, started))

    def _until(self, attempt: Callable[[], _T | _Wait]) -> _T:
        while True:
            outcome = attempt()
            if not isinstance(outcome, _Wait):
                return outcome
            with self._freed:  # woken early when this process frees room
                self._freed.wait(outcome.seconds)

    async def _auntil(self, attempt: Callable[[], _T | _Wait]) -> _T:
        import asyncio  # here: loading asyncio costs every command that never waits in a loop

        while True:
            outcome = attempt()
            if not isinstance(outcome, _Wait):
                return outcome
            await asyncio.sleep(outcome.seconds)

    def check(self, request: CallRequest, worst_case: Decimal) -> list[Verdict]:
        """Whether each applicable budget has room for the call now, without reserving anything."""
        now = self.clock()
        applied = self.policies.applicable(request.attribution, request.provider, request.model)
        needs = self.keys.needs(applied, self._amounts(request, worst_case), now)
        states = self.store.states([k for need in needs for k in need.keys])
        for need in needs:  # only reads: a period not derived yet is counted here, not written
            policy = need.applied.policy
            states = self.derived.as_derived(policy, self.derived.underived(policy, need.window), states)
        out: list[Verdict] = []
        for need in needs:
            found = find_shortfall(need, combined(need.keys, states))
            notice = None
            if found is not None:
                notice = self.announce.notice(
                    found, need.applied.policy.action, request.provider, request.model
                )
            policy = need.applied.policy
            out.append(
                Verdict(policy.id, need.applied.scope_label, policy.period.label, need.enforce, found, notice)
            )
        return out

    def _amounts(self, request: CallRequest, worst_case: Decimal) -> Amounts:
        output = request.max_tokens if request.max_tokens is not None else self.default_max_tokens
        return Amounts(to_units(worst_case), request.input_tokens + output, 1)

    def _reserve(
        self, needs: list[Need], now: float, label: str, kind: str = "call"
    ) -> tuple[Reservation, ReserveResult]:
        ttl = self.config.reservation_ttl if kind == "call" else self.config.run_ttl
        reservation = Reservation(
            id=new_event_id(),
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
        return reservation, result

    def _try(
        self, request: CallRequest, provider: str, model: str, worst_case: Decimal, now: float
    ) -> tuple[Reservation | None, ReserveResult]:
        """Reserve for (provider, model); no applicable budget: allowed without a reservation."""
        applied = self.policies.applicable(request.attribution, provider, model)
        if not applied:
            return None, _FREE
        amounts = self._amounts(request, worst_case)
        while True:
            needs = self.keys.needs(applied, amounts, now)
            self.derived.needs(needs)
            reservation, result = self._reserve(needs, now, f"{provider}/{model}")
            if not result.ok:
                return reservation, result
            later = self.clock()
            if not self._moved_on(needs, later):
                return reservation, result
            # The store decided on windows that ended while it waited for its lock (a busy database): a
            # rolling window's newest buckets, or a new day, were not counted. Decide again, now.
            self.store.release(reservation.id)
            now = later

    def _moved_on(self, needs: Sequence[Need], now: float) -> bool:
        """Whether the current window of any need's period is no longer the one it was decided on."""
        return any(
            need.window.key != LIVE
            and self.keys.window(need.applied.policy.period, now).key != need.window.key
            for need in needs
        )

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
        reservation, result = self._try(request, provider, model, worst_case, now)
        if result.ok:
            return self._admitted(
                request,
                provider=provider,
                model=model,
                worst_case=worst_case,
                reservation=reservation,
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
            raise self.announce.refuse(request, decisive, "queue_timeout", QueueTimeout, waited=waited)
        if rank == 3 and request.allow_fallback:
            admission = self._fallback(request, decisive, now)
            if admission is not None:
                return admission
        raise self.announce.refuse(request, decisive, "block", BudgetExceeded)

    def _admitted(
        self,
        request: CallRequest,
        *,
        provider: str,
        model: str,
        worst_case: Decimal,
        reservation: Reservation | None,
        result: ReserveResult,
        decision: Decision = Decision.ALLOW,
        notices: tuple[str, ...] = (),
        reason: str | None = None,
    ) -> Admission:
        for over in result.over:
            notice = self.announce.notice(over, "warn", provider, model)
            notices = (*notices, notice)
            self.announce.record(over, "warn", request, notice, level="warning")
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
            reserved=worst_case if reservation is not None else Decimal(0),
            reservation_ids=(reservation.id,) if reservation is not None else (),
            holds=tuple((h.key, h.amounts) for h in reservation.holds) if reservation is not None else (),
            expires=reservation.deadline if reservation is not None else None,
            notices=notices,
            reason=reason,
        )

    def _fallback(self, request: CallRequest, decisive: Shortfall, now: float) -> Admission | None:
        """The first fallback route whose budgets have room (see `ProviderRegistry.candidates`)."""
        policy = decisive.need.applied.policy
        costs: dict[tuple[str, str], Decimal] = {}

        def cost_of(route: Route) -> Decimal:
            pair = (route.provider, route.model)
            if pair not in costs:
                costs[pair] = self._worst_case(request, route.provider, route.model)
            return costs[pair]

        candidates = self.registry.candidates(
            refused=(request.provider, request.model),
            spec=policy.fallback or (("chain",) if self.registry else ()),
            explicit=request.fallbacks,
            capabilities=request.capabilities,
            tokens=self._amounts(request, Decimal(0)).tokens,
            order=policy.fallback_order,
            cost_of=cost_of,
        )
        for route in candidates:
            worst = cost_of(route)
            reservation, result = self._try(request, route.provider, route.model, worst, now)
            if result.ok:
                notice = self.announce.notice(decisive, "fallback", request.provider, request.model, to=route)
                self.announce.record(decisive, "fallback", request, notice, to=route)
                return self._admitted(
                    request,
                    provider=route.provider,
                    model=route.model,
                    worst_case=worst,
                    reservation=reservation,
                    result=result,
                    decision=Decision.FALLBACK,
                    notices=(notice,),
                    reason=f"budget {policy.id!r} has no room for {request.provider}/{request.model}; "
                    f"using {route.provider}/{route.model}",
                )
        return None

    def _terminate(self, request: CallRequest, shortfalls: Sequence[Shortfall], decisive: Shortfall) -> None:
        run = request.attribution.run
        message = self.announce.notice(
            decisive, Action.TERMINATE_RUN, request.provider, request.model, run=run
        )
        for shortfall in shortfalls:
            if _rank(shortfall) == 0 and not shortfall.terminated:
                self.store.terminate(shortfall.need.key)
        if not decisive.terminated:
            self.announce.record(decisive, "terminate_run", request, message, level="critical")
        details = {**self.announce.details(decisive), "action": "terminate_run", "run": run}
        if run is not None:
            if len(self._terminated) >= 10_000:  # runs ended outside `warden.run` are never forgotten
                self._terminated.pop(next(iter(self._terminated)))
            self._terminated[run] = {"message": message, **details}
        raise RunTerminated(message, **details)

    # -- settlement --------------------------------------------------------------------------------------

    def settle(self, admission: Admission, event: UsageEvent) -> None:
        """Append the event, drop the reservation and count the real cost (one transaction on SQL)."""
        reservation_id = admission.reservation_ids[0] if admission.reservation_ids else None
        self.policies  # noqa: B018 - re-reads the budgets set from the CLI when they changed
        self.derived.forget_unknown(self.known)
        if reservation_id is None and self.ledger is not None and not self.policies:
            self.ledger.append(event)
            return
        self.derived.events([event], self.clock())
        counted = self.store.settle(reservation_id, [event], self._spends_for)
        if reservation_id is not None:
            self._notify_freed()
        if counted:
            self.announce.thresholds(counted)

    def release(self, admission: Admission) -> None:
        for reservation_id in admission.reservation_ids:
            self.store.release(reservation_id)
        self._notify_freed()

    def held(self, admission: Admission) -> bool:
        return all(self.store.held(r) for r in admission.reservation_ids)

    def recorded(self, events: Sequence[UsageEvent]) -> None:
        """Append events that had no admission (imports, `record`) and count them."""
        self.policies  # noqa: B018 - re-reads the budgets set from the CLI when they changed
        self.derived.forget_unknown(self.known)
        if self.ledger is not None and not self.policies:
            self.ledger.append_many(events) if len(events) > 1 else self.ledger.append(events[0])
            return
        self.derived.events(events, self.clock())
        counted = self.store.settle(None, events, self._spends_for)
        if counted:
            self.announce.thresholds(counted)

    def _notify_freed(self) -> None:
        with self._freed:
            self._freed.notify_all()

    # -- runs --------------------------------------------------------------------------------------------

    def enter_run(self, attribution: Attribution) -> RunSlot:
        """Take a concurrency slot for a run (`concurrency: runs` budgets), queueing up to their timeout."""
        started = time.monotonic()
        return self._until(lambda: self._attempt_run(attribution, started))

    async def aenter_run(self, attribution: Attribution) -> RunSlot:
        started = time.monotonic()
        return await self._auntil(lambda: self._attempt_run(attribution, started))

    def _attempt_run(self, attribution: Attribution, started: float) -> RunSlot | _Wait:
        if attribution.run is not None and attribution.run in self._terminated:
            raise RunTerminated(**self._terminated[attribution.run])
        applied = self.policies.applicable(attribution, "", "", runs=True)
        if not applied:
            return RunSlot(None, attribution)
        now = self.clock()
        self._maybe_reclaim(now)
        needs = self.keys.needs(applied, Amounts(), now)
        self.derived.needs(needs)
        reservation, result = self._reserve(needs, now, f"run {attribution.run or ''}".strip(), kind="run")
        if result.ok:
            return RunSlot(reservation.id, attribution)
        decisive = result.shortfalls[0]
        timeout = decisive.need.applied.policy.queue_timeout
        waited = time.monotonic() - started
        if waited < timeout:
            return _Wait(min(self.config.queue_poll, timeout - waited))
        request = CallRequest(provider="-", model="-", attribution=attribution)
        raise self.announce.refuse(request, decisive, "queue_timeout", QueueTimeout, waited=waited)

    def exit_run(self, slot: RunSlot) -> None:
        if slot.reservation_id is not None:
            self.store.release(slot.reservation_id)
            self._notify_freed()

    def forget_run(self, run: str) -> None:
        """Drop this process's memory of a terminated run (its counters stay terminated)."""
        self._terminated.pop(run, None)

    # -- derived counters (see `budgets.derived`) -----------------------------------------------------------

    def derive(self, policy: Policy, now: float | None = None) -> None:
        """Make sure the counters of `policy`'s current window (every scope value) count the ledger's
        events in it (once per definition and window, as an admission does)."""
        self.policies  # noqa: B018 - compiles the fingerprints
        self.derived.ensure(policy, self.window(policy, now))

    def counters(self, policy: Policy, now: float | None = None) -> dict[str, CounterState]:
        """Every counter of `policy` (all scopes and periods stored) as it stands, never writing: a current
        window not derived yet under the budget's definition is counted from the ledger here and left to
        the next admission to store (`as_derived`). What `budget status` and reports read."""
        self.policies  # noqa: B018 - compiles the fingerprints
        return self.derived.counters(policy, self.window(policy, now))

    def fingerprint(self, budget_id: str) -> str:
        """The fingerprint of a budget's definition in force ("" for an unknown id)."""
        return self._fingerprints.get(budget_id, "")

    # -- maintenance -------------------------------------------------------------------------------------

    def rebuild(self) -> int:
        """Recompute every budget's current counters from the ledger; returns the counters written."""
        if self.ledger is None:
            raise ValueError("rebuilding counters needs the ledger")
        ledger = self.ledger
        policies = self.policies
        now = self.clock()
        windows = [(p, self.keys.window(p.period, now)) for p in policies.policies]

        def compute() -> Mapping[str, Amounts]:
            spent: dict[str, Amounts] = {}
            with latest(ledger):
                for policy, window in windows:
                    if window.key != LIVE:
                        spent.update(self.counting.count(ledger, policy, window.keys))
            return spent

        written = self.store.rebuild([p.id for p in policies.policies], compute)
        self.derived.clear()  # a rebuild forgets what was derived: the next need derives again
        return written

    def close(self) -> None:
        self.hub.close()
        self.store.close()
        if self.records is not None and id(self.records) != id(self.store):
            self.records.close()
