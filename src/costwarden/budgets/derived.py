"""Derived counters in one process: which budget windows are known to count the ledger, deriving the
others once per budget definition and window (a set lookup per admission afterwards; the store makes it
once across processes), counting a window not derived yet for readers without writing, and forgetting
what was derived for budgets this process does not know before it appends events they will not count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from costwarden.budgets.derivation import as_derived
from costwarden.budgets.keys import LIVE
from costwarden.core.admission import Amounts, CounterState, Need
from costwarden.core.periods import Window
from costwarden.core.policy import Applied, Policy
from costwarden.core.usage import UsageEvent
from costwarden.storage.ledger import Ledger

if TYPE_CHECKING:
    from costwarden.budgets.engine import BudgetEngine

__all__ = ["Derivations", "latest"]

_Token = tuple[str, str, str, int]
_REMEMBERED = 10_000


def latest(ledger: Ledger) -> AbstractContextManager[object]:
    """Reads of `ledger` from one new snapshot (`SqlLedger.fresh`): the latest commits, even inside a
    report's pinned snapshot, and the retention horizon, rollups and events all of the same moment."""
    fresh = getattr(ledger, "fresh", None)
    return fresh() if callable(fresh) else nullcontext()


class Derivations:
    """The derived windows of one engine's budgets (see the module docstring)."""

    def __init__(self, engine: BudgetEngine) -> None:
        self.engine = engine
        self._done: set[_Token] = set()
        self._checked_for: frozenset[str] | None = None
        """The `engine.known` of the last `forget_unknown` (None: none yet in this process)."""

    def clear(self) -> None:
        """Forget what this process knows was derived: the next need asks the store again."""
        self._done.clear()

    def _token(self, policy: Policy, window: Window) -> _Token:
        generation = getattr(self.engine.store, "generation", 0)  # a store that switched backends: again
        return (self.engine.fingerprint(policy.id), policy.id, window.key, generation)

    def _remember(self, token: _Token) -> None:
        if len(self._done) >= _REMEMBERED:
            self._done.clear()
        self._done.add(token)

    def ensure(self, policy: Policy, window: Window) -> None:
        """Derive the counters of `window` (every scope value) unless derived under the budget's current
        definition (asked of the store once per definition and window in this process)."""
        if window.key == LIVE:
            return
        token = self._token(policy, window)
        if token not in self._done:
            self._derive(policy, token[0], window)
            self._remember(token)

    def needs(self, needs: Sequence[Need]) -> None:
        """Before an admission reserves on `needs`: their windows derived."""
        for need in needs:
            self.ensure(need.applied.policy, need.window)

    def events(self, events: Sequence[UsageEvent], now: float) -> None:
        """Before counting `events` without an admission: derive the current windows of the budgets they
        count on, so what they add (and the thresholds they cross) starts from the ledger."""
        engine = self.engine
        policies: dict[str, Policy] = {}
        for event in events:
            for item in engine.policies.applicable(event.attribution, event.provider, event.model):
                limits = item.limits
                if limits.cost is not None or limits.tokens is not None or limits.requests is not None:
                    policies.setdefault(item.policy.id, item.policy)
        for policy in policies.values():
            self.ensure(policy, engine.window(policy, now))

    def counters(self, policy: Policy, window: Window) -> dict[str, CounterState]:
        """Every stored counter of `policy`, with `window` counted from the ledger (not written) when it is
        not derived yet."""
        missing = self.underived(policy, window)
        return self.as_derived(policy, missing, self.engine.store.counters(policy.id))

    def underived(self, policy: Policy, window: Window) -> list[str]:
        """The periods of `window` not derived under `policy`'s definition yet (read-only)."""
        if window.key == LIVE:
            return []
        token = self._token(policy, window)
        if token in self._done:
            return []
        missing = self.engine.store.underived(policy.id, token[0], window.keys)
        if not missing:
            self._remember(token)
        return missing

    def as_derived(
        self, policy: Policy, missing: Sequence[str], states: Mapping[str, CounterState]
    ) -> dict[str, CounterState]:
        """`states` with the periods `missing` counted from the ledger (`derivation.as_derived`)."""
        ledger = self.engine.ledger
        if not missing or ledger is None:
            return dict(states)
        with latest(ledger):
            spent = self.engine.counting.count(ledger, policy, missing)
        return as_derived(states, policy.id, missing, spent)

    def _derive(self, policy: Policy, fingerprint: str, window: Window) -> None:
        """Derive the periods of `window` not derived under `fingerprint`; when this process derived them,
        alert the thresholds their counters are already past."""
        engine = self.engine
        ledger = engine.ledger
        if ledger is None:
            return
        applied: dict[str, Applied] = {}

        def compute(missing: Sequence[str]) -> Mapping[str, Amounts]:
            applied.clear()  # a retried transaction counts again
            with latest(ledger):  # never a report's pinned snapshot: count every commit
                return engine.counting.count(ledger, policy, missing, applied)

        if engine.store.derive(policy.id, fingerprint, window.keys, compute) and policy.thresholds:
            engine.announce.reached(applied, window)

    def forget_unknown(self, known: frozenset[str]) -> None:
        """Before this process appends events: a budget it does not know (`known`: the ids in force; one
        removed from the config file or from the CLI, or not in this process's config) will not count them,
        so what was derived for it no longer equals the ledger. Forget that, so the budget is derived again
        when it is next in force (the same definition set again, another process that has it). Asked of
        the store once per set of budgets in force, not per append."""
        if known is self._checked_for:
            return
        store = self.engine.store
        stale = store.derived_budgets() - known
        if stale:
            store.forget(stale)
        self._checked_for = known
