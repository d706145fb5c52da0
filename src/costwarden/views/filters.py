"""Filters of a read question: `FIELD=VALUE` items (`--where project=api`) as the ledger's filter mapping,
and `provider`/`model` values in the names events are stored under."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from costwarden.storage.ledger import FILTER_FIELDS, WhereValue, where_values
from costwarden.views.errors import QueryError

__all__ = ["Canonical", "parse_where", "canonical_where"]

Canonical = Callable[[str, str], tuple[str, str]]
"""`PriceBook.canonical`: `(provider, model)` as given -> the canonical `(provider, model)`."""


def parse_where(
    items: Sequence[str] | None, canonical: Canonical | None = None, *, option: str = "--where"
) -> dict[str, WhereValue]:
    """`project=api` items as a filter mapping (`FIELD=` selects events where FIELD is unset).
    Repeated on one field the values are ORed (`project=a`, `project=b`: either project); different
    fields are ANDed. With `canonical` (`PriceBook.canonical`), `provider` and `model` values are the
    names events are stored under (`provider=claude` finds `anthropic`, a dated model id its model).
    A malformed item is a `QueryError` naming `option`."""
    out: dict[str, WhereValue] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise QueryError(f"expected FIELD=VALUE, got {item!r}", option)
        if name not in FILTER_FIELDS and not (name.startswith("tag:") and len(name) > 4):
            raise QueryError(
                f"cannot filter by {name!r}; choose one of {', '.join(FILTER_FIELDS)} or tag:NAME", option
            )
        if name in out:
            before = where_values(out[name])
            out[name] = before if (value or None) in before else (*before, value or None)
        else:
            out[name] = value or None
    return canonical_where(out, canonical) if canonical is not None else out


def canonical_where(where: Mapping[str, WhereValue], canonical: Canonical) -> dict[str, WhereValue]:
    """`provider` and `model` filter values in their canonical names; a model is resolved under each
    provider of the filter (or none)."""
    out = dict(where)
    providers = [p for p in where_values(where.get("provider", ())) if p] if "provider" in where else []
    if "provider" in where:
        out["provider"] = _unique(canonical(p, "")[0] if p else p for p in where_values(where["provider"]))
    if "model" in where:
        out["model"] = _unique(
            canonical(p, m)[1] if m else m for m in where_values(where["model"]) for p in providers or [""]
        )
    return out


def _unique(values: Iterable[str | None]) -> WhereValue:
    kept = tuple(dict.fromkeys(values))
    return kept[0] if len(kept) == 1 else kept
