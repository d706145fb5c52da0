"""What the budget engine tells people: refusal and fallback notices, the exhaustion audit, threshold
alerts. Everything goes through the engine's `AlertHub` (the feed, the log, callbacks, notifiers).

The `Announcer` is given what it reads, never the engine: the hub, the clock and timezone, the canonical
names, what kind a provider is, and the counters' current states (rolling windows' thresholds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from costwarden.budgets.alerts import AlertHub
from costwarden.clock import Clock
from costwarden.core.admission import (
    Amounts,
    CounterState,
    Crossing,
    Shortfall,
    combined,
    counter_key,
    crossings,
    human_amount,
    refusal_notice,
    resets_at,
)
from costwarden.core.calls import CallRequest
from costwarden.core.money import money_amount
from costwarden.core.periods import Window
from costwarden.core.policy import Action, Applied, Names
from costwarden.core.routing import Route
from costwarden.core.units import unit_of
from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution
from costwarden.errors import BudgetExceeded, QueueTimeout
from costwarden.storage.budgets import AlertRecord, Counted

__all__ = ["Announcer", "attribution_fields"]


def attribution_fields(attribution: Attribution) -> dict[str, Any]:
    """Attribution fields as a flat mapping (tags as `tag:NAME`)."""
    out: dict[str, Any] = {name: getattr(attribution, name) for name in ATTRIBUTION_FIELDS}
    out.update({f"tag:{k}": v for k, v in attribution.tags.items()})
    return out


class Announcer:
    """Builds the notices and records of one engine and hands the records to `hub`, stamped by `clock`.
    `tz`: the timezone notices give reset times in; `names`: canonical provider/model names (None: as
    given); `kind_of`: a provider's kind (`local`, ...) in the routing registry; `states`: counters as they
    stand (the thresholds of rolling windows are decided on the whole window)."""

    def __init__(
        self,
        *,
        hub: AlertHub,
        clock: Clock,
        tz: ZoneInfo,
        names: Names | None,
        kind_of: Callable[[str], str | None],
        states: Callable[[Sequence[str]], Mapping[str, CounterState]],
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.tz = tz
        self.names = names
        self.kind_of = kind_of
        self.states = states
        self._warned: set[str] = set()  # warn-only overruns this process has recorded (once per period)

    def notice(
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
        local_only = to is not None and to.local and self.kind_of(provider) != "local"
        provider, model = self.canonical(provider, model)
        return refusal_notice(
            shortfall,
            tz=self.tz,
            action=action,
            reset=resets_at(shortfall.need, shortfall.oldest),
            provider=provider,
            model=model,
            to=(to.provider, to.model) if to is not None else None,
            local_only=local_only,
            run=run,
            waited=waited,
        )

    def canonical(self, provider: str, model: str) -> tuple[str, str]:
        """The names budgets and reports use for a call (`claude` -> `anthropic`, a dated id -> its model)."""
        names = self.names
        return names(provider, model) if names is not None else (provider, model)

    def details(self, shortfall: Shortfall) -> dict[str, Any]:
        need = shortfall.need
        dim = shortfall.dimension

        def value(units: int) -> Decimal | int:
            return money_amount(units) if dim == "cost" else units

        return {
            "budget_id": need.applied.policy.id,
            "scope": need.applied.scope_label,
            "period": need.applied.policy.period.label,
            "limit": value(shortfall.limit),
            "spent": value(shortfall.spent),
            "reserved": value(shortfall.reserved),
            "requested": value(shortfall.requested),
            "resets_at": resets_at(need, shortfall.oldest),
            "unit": unit_of(dim, need.applied.policy.concurrency).value,
        }

    def refuse(
        self, request: CallRequest, shortfall: Shortfall, kind: str, error: type[BudgetExceeded], **extra: Any
    ) -> BudgetExceeded:
        message = self.notice(shortfall, kind, request.provider, request.model, waited=extra.get("waited"))
        if kind == "block" and shortfall.need.applied.policy.action is Action.FALLBACK:
            message += " (no fallback had room)"
        self.record(shortfall, kind, request, message)
        details = self.details(shortfall)
        if error is QueueTimeout:
            return QueueTimeout(message, waited=float(extra.get("waited", 0.0)), action="queue", **details)
        return BudgetExceeded(message, action=shortfall.need.applied.policy.action.value, **details)

    def record(
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
        if kind == "warn":
            seen = (
                f"{need.applied.policy.id}|{need.applied.scope_key}|{need.window.key}|{shortfall.dimension}"
            )
            if seen in self._warned:
                return
            if len(self._warned) > 10_000:
                self._warned.clear()
            self._warned.add(seen)
        provider, model = self.canonical(request.provider, request.model)
        details: dict[str, Any] = {"provider": provider, "model": model, "request_id": request.request_id}
        if (provider, model) != (request.provider, request.model):
            details["given_provider"], details["given_model"] = request.provider, request.model
        details.update({k: v for k, v in attribution_fields(request.attribution).items() if v})
        details["unit"] = unit_of(shortfall.dimension, need.applied.policy.concurrency).value
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

    def thresholds(self, counted: Sequence[Counted]) -> None:
        rolling: dict[str, Any] = {}
        for item in counted:
            spend = item.spend
            applied = spend.applied
            if applied is None or not applied.policy.thresholds or spend.amounts.cost < 0:
                continue
            before, after = item.before, item.before + spend.amounts
            if spend.window_keys:
                if not rolling:
                    rolling.update(self.states([k for c in counted for k in c.spend.window_keys]))
                after = combined(spend.window_keys, rolling).spent
                before = after - spend.amounts
            for crossing in crossings(applied, spend.key, spend.period_key, before, after):
                self._threshold(crossing)

    def reached(self, applied: Mapping[str, Applied], window: Window) -> None:
        """After the counters of `window` were derived from the ledger (`applied`: the budget as applied
        to each derived counter): the thresholds they are already past, alerted as if crossed now (a budget
        added, or whose definition changed, after the spend). Each is recorded once, as every crossing."""
        scopes = {item.scope_key: item for item in applied.values()}
        if not scopes or not next(iter(scopes.values())).policy.thresholds:
            return
        budget_id = next(iter(scopes.values())).policy.id
        keys = {scope: [counter_key(budget_id, scope, p) for p in window.keys] for scope in scopes}
        states = self.states([k for scoped in keys.values() for k in scoped])
        for scope, item in sorted(scopes.items()):
            after = combined(keys[scope], states).spent
            key = counter_key(budget_id, scope, window.key)
            for crossing in crossings(item, key, window.key, Amounts(), after):
                self._threshold(crossing)

    def _threshold(self, crossing: Crossing) -> None:
        applied = crossing.applied
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
                period_key=crossing.period_key,
                dimension=crossing.dimension,
                level=threshold.level,
                message=message,
                limit=crossing.limit,
                spent=crossing.spent,
                threshold=f"{threshold.percent:g}",
            )
        )
