"""Counters derived from the ledger: what its events (and, for history retention folded away, its
rollups) add up to on each counter of one budget in some period instances, every scope value at once.

Before the retention cut only the rollups are read. They hold every event there, also one recorded after
`maintain` with a time before its cut: the rollup triggers add it to the hourly row of its hour at write
time (migration `m0011_late_events`, which says why there rather than here). The events still stored
before the cut are such late ones, already in the rollups: reading them too would count them twice."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from costwarden.budgets.keys import CounterKeys
from costwarden.core.admission import ZERO, Amounts, CounterState, counter_key
from costwarden.core.money import to_units
from costwarden.core.periods import PeriodKind
from costwarden.core.policy import Applied, Policy, PolicySet
from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution
from costwarden.storage.ledger import EventQuery, Ledger, Totals

if TYPE_CHECKING:
    from costwarden.storage.rollups import RollupSource

__all__ = ["LedgerCounts", "as_derived"]


def _names(policy: Policy) -> list[str]:
    """The fields a policy is scoped or filtered by (what derivation groups the ledger's sums by)."""
    return sorted({*policy.per, *(name for name, _ in policy.match)})


class LedgerCounts:
    """Sums the ledger per counter of a budget, periods taken as `keys` takes them."""

    def __init__(self, keys: CounterKeys, rollups: RollupSource | None = None) -> None:
        self.keys = keys
        self.rollups = rollups
        """The rollups of the ledger's backend (None: no history folded away, as in memory)."""

    def count(
        self,
        ledger: Ledger,
        policy: Policy,
        periods: Sequence[str],
        applied: dict[str, Applied] | None = None,
    ) -> dict[str, Amounts]:
        """What the ledger adds up to on each counter of `policy` in the period instances `periods` (every
        scope value): the events it keeps, plus the rollups of the history retention folded away.
        `applied` (if given) receives the policy as applied to each counter's scope value."""
        period = policy.period
        spans = {p: self.keys.span(period, p) for p in periods}
        starts = [s for s, _ in spans.values()]
        ends = [e for _, e in spans.values()]
        start = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        out: dict[str, Amounts] = {}
        single = PolicySet([policy])
        store = self.rollups
        horizon = store.coverage().events_before if store is not None else None
        if store is not None and horizon is not None and (start is None or start < horizon):
            if len(spans) == 1:  # rolling windows (many buckets) are shorter than any retention
                folded_end = horizon if end is None or end > horizon else end
                self._count_folded(store, single, policy, periods[0], start, folded_end, out, applied)
            start = horizon
        if end is not None and start is not None and start >= end:
            return out
        if len(spans) == 1:  # one period instance: the ledger sums its events per scope value
            self._count_totals(
                ledger.totals(EventQuery(start=start, end=end), _names(policy)),
                single,
                periods[0],
                out,
                applied,
            )
            return out
        rolling = period.kind is PeriodKind.ROLLING
        for event in ledger.events(EventQuery(start=start, end=end)):
            at = event.occurred_at
            if rolling:
                bucket: str | None = period.bucket_key(at, self.keys.tz)
                if bucket not in spans:
                    continue
            else:
                bucket = next(
                    (p for p, (s, e) in spans.items() if (s is None or s <= at) and (e is None or at < e)),
                    None,
                )
                if bucket is None:
                    continue
            usage = event.usage
            amounts = Amounts(to_units(event.cost_total), usage.total_tokens, usage.requests)
            self._add(single, event.attribution, event.provider, event.model, bucket, amounts, out, applied)
        return out

    def _count_folded(
        self,
        store: RollupSource,
        single: PolicySet,
        policy: Policy,
        bucket: str,
        start: datetime | None,
        end: datetime,
        out: dict[str, Amounts],
        applied: dict[str, Applied] | None,
    ) -> None:
        """Add the rollup rows wholly inside `[start, end)` (history retention folded) to `bucket`."""
        rows = store.totals(start, end, {}, _names(policy), self.keys.tz)
        self._count_totals(rows, single, bucket, out, applied)

    def _count_totals(
        self,
        rows: Sequence[Totals],
        single: PolicySet,
        bucket: str,
        out: dict[str, Amounts],
        applied: dict[str, Applied] | None,
    ) -> None:
        """Add sums grouped by a policy's fields (`_names`) to the counters of `bucket`."""
        policy = single.policies[0]
        names = _names(policy)
        for row in rows:
            values = dict(zip(names, row.key, strict=True))
            fields: dict[str, Any] = {n: v for n, v in values.items() if n in ATTRIBUTION_FIELDS and v}
            tags = {n[4:]: v for n, v in values.items() if n.startswith("tag:") and v}
            attribution = Attribution(**fields, tags=tags)
            amounts = Amounts(to_units(row.cost), row.total_tokens, row.requests)
            provider, model = values.get("provider") or "", values.get("model") or ""
            self._add(single, attribution, provider, model, bucket, amounts, out, applied)

    @staticmethod
    def _add(
        single: PolicySet,
        attribution: Attribution,
        provider: str,
        model: str,
        bucket: str,
        amounts: Amounts,
        out: dict[str, Amounts],
        applied: dict[str, Applied] | None,
    ) -> None:
        for item in single.applicable(attribution, provider, model):
            limits = item.limits
            if limits.cost is None and limits.tokens is None and limits.requests is None:
                continue
            key = counter_key(item.policy.id, item.scope_key, bucket)
            out[key] = out.get(key, Amounts()) + amounts
            if applied is not None:
                applied[key] = item


def as_derived(
    states: Mapping[str, CounterState],
    budget_id: str,
    periods: Collection[str],
    spent: Mapping[str, Amounts],
) -> dict[str, CounterState]:
    """`states` as they will read once the period instances `periods` of `budget_id` are derived with
    `spent` (`LedgerCounts.count`), without writing anything: what `CounterStore.derive` would store (the
    spent amounts of those periods replaced, reservations kept). Readers (`budget status`, `budget check`,
    reports) answer from this when a period is not derived yet and leave the write to the next admission,
    so a reader never waits for the write lock."""
    prefix, wanted = f"{budget_id}|", set(periods)
    out: dict[str, CounterState] = {}
    for key, state in states.items():
        mine = key.startswith(prefix) and key.rpartition("|")[2] in wanted
        out[key] = replace(state, spent=ZERO) if mine else state
    for key, amounts in spent.items():
        out[key] = replace(out.get(key, CounterState()), spent=amounts)
    return out
