"""Arithmetic on `Totals`: empty rows, exact sums, regrouping and the canonical row order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from decimal import Decimal

from costwarden.core.usage import CostSource, EventStatus, UsageEvent
from costwarden.storage.ledger import Totals

__all__ = [
    "COUNT_FIELDS",
    "empty_totals",
    "add_totals",
    "sum_totals",
    "event_totals",
    "regroup",
    "sort_rows",
    "totals_equal",
]

COUNT_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(Totals) if f.name not in ("key", "cost", "unpriced_cost")
)

Key = tuple[str | None, ...]


def empty_totals(key: Key = ()) -> Totals:
    """A row with every sum zero."""
    zeros: dict[str, int] = dict.fromkeys(COUNT_FIELDS, 0)
    return Totals(key=key, cost=Decimal(0), unpriced_cost=Decimal(0), **zeros)


def add_totals(a: Totals, b: Totals, key: Key | None = None) -> Totals:
    """The exact sum of two rows (key taken from `key`, else from `a`)."""
    counts = {name: getattr(a, name) + getattr(b, name) for name in COUNT_FIELDS}
    return Totals(
        key=a.key if key is None else key,
        cost=a.cost + b.cost,
        unpriced_cost=a.unpriced_cost + b.unpriced_cost,
        **counts,
    )


def sum_totals(rows: Iterable[Totals], key: Key = ()) -> Totals:
    """All rows summed into one with `key`."""
    out = empty_totals(key)
    for row in rows:
        out = add_totals(out, row, key)
    return out


def event_totals(event: UsageEvent, key: Key = ()) -> Totals:
    """One event as a row of sums (the same arithmetic every ledger backend applies)."""
    u = event.usage
    cost = event.cost_total
    unpriced = event.cost is not None and event.cost.source == CostSource.UNPRICED
    return Totals(
        key=key,
        events=1,
        requests=u.requests,
        input_tokens=u.input_tokens,
        cache_read_tokens=u.cache_read_tokens,
        cache_write_tokens=u.cache_write_tokens,
        cache_write_1h_tokens=u.cache_write_1h_tokens,
        output_tokens=u.output_tokens,
        reasoning_tokens=u.reasoning_tokens,
        web_search_requests=u.web_search_requests,
        cost=cost,
        unpriced_events=1 if unpriced else 0,
        unpriced_cost=cost if unpriced else Decimal(0),
        error_events=1 if event.status == EventStatus.ERROR else 0,
    )


def regroup(rows: Iterable[Totals], key_of: Callable[[Key], Key]) -> list[Totals]:
    """Merge rows whose keys map to the same new key; returns rows in canonical order."""
    merged: dict[Key, Totals] = {}
    for row in rows:
        new_key = key_of(row.key)
        have = merged.get(new_key)
        merged[new_key] = replace(row, key=new_key) if have is None else add_totals(have, row, new_key)
    return sort_rows(merged.values())


def _key_order(key: Key) -> tuple[tuple[int, str], ...]:
    return tuple((1, "") if part is None else (0, part) for part in key)


def sort_rows(rows: Iterable[Totals], time_keys: Sequence[int] = ()) -> list[Totals]:
    """Cost descending, then key ascending (unset values last); deterministic across backends.

    With `time_keys` (positions of hour/day/month in the key) rows are ordered by those first, in time order.
    """
    items = list(rows)
    if time_keys:
        return sorted(
            items,
            key=lambda r: (tuple(r.key[i] or "" for i in time_keys), -r.cost, _key_order(r.key)),
        )
    return sorted(items, key=lambda r: (-r.cost, _key_order(r.key)))


def totals_equal(a: Totals, b: Totals) -> bool:
    """Every sum identical (keys ignored)."""
    return all(getattr(a, name) == getattr(b, name) for name in (*COUNT_FIELDS, "cost", "unpriced_cost"))
