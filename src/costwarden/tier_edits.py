"""Cost tiers added, changed and removed from the CLI (`costwarden tiers add/set/remove`), stored in the
database like budgets set from the CLI.

Each edit computes the tiers it would leave in force (`TiersInForce.build`) and stores nothing unless they
are valid: ids unique, ranges not overlapping, at least one tier left. The config file wins on an id it
names (under `tiers.definitions` or `tiers.remove`): a change of such a tier is stored but shadowed while
the config names it (the result says so), and such a tier cannot be added or removed from the CLI. A tier
the config's providers name (`cost_tier`) cannot be removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costwarden.errors import CostwardenError
from costwarden.pricing.tiers import (
    BUILTIN_TIERS,
    CostTierDefinition,
    TierBook,
    TierChange,
    apply_change,
)
from costwarden.storage.tiers import SavedTier
from costwarden.tiers_in_force import TiersInForce, cli_changes, tier_references

if TYPE_CHECKING:
    from costwarden.config import Settings
    from costwarden.storage.tiers import TierStore

__all__ = ["TierEditRefused", "TierEdit", "add_tier", "set_tier", "remove_tier"]

_BUILTIN_IDS = frozenset(tier.id for tier in BUILTIN_TIERS)


class TierEditRefused(CostwardenError):
    """An edit that would leave the tiers invalid, or that the config file decides; nothing was stored.
    `unknown`: the tier named does not exist (a usage error)."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        self.unknown = unknown
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class TierEdit:
    """What an edit stored: the tier as now in force (None: removed), and the config file that overrides
    it (None: the edit is in force)."""

    tier_id: str
    tier: CostTierDefinition | None
    overridden_by: str | None = None


def _config_names(settings: Settings) -> set[str]:
    config = settings.tiers
    return set(config.remove) | {change.id for change in config.definitions}


def _source(settings: Settings) -> str:
    return settings.source or "the config file"


def _reason(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)


def _known(book: TierBook) -> str:
    return ", ".join(t.id for t in book.all())


def _trial(
    settings: Settings,
    store: TierStore,
    tier_id: str,
    given: Mapping[str, Any] | None,
    *,
    forget: bool = False,
) -> TierBook:
    """The tiers with `tier_id` set to `given` from the CLI (`forget`: with its record dropped); refused
    when the result is invalid or leaves that change out."""
    changes: dict[str, Mapping[str, Any] | None] = dict(cli_changes(store))
    layers = TiersInForce(settings, store).build(changes, warn=False).layers
    before = {tier for tier, _ in layers.skipped}
    if forget:
        changes.pop(tier_id, None)
    else:
        changes[tier_id] = given
    try:
        book = TiersInForce(settings, store).build(changes, warn=False)
    except ValueError as exc:
        raise TierEditRefused(str(exc)) from None
    if book.layers.conflict is not None and layers.conflict is None:
        raise TierEditRefused(book.layers.conflict)
    for skipped, reason in book.layers.skipped:
        if skipped == tier_id or skipped not in before:  # this edit, or one it would push out
            raise TierEditRefused(reason)
    return book


def add_tier(settings: Settings, store: TierStore, tier_id: str, fields: Mapping[str, Any]) -> TierEdit:
    """Add a tier (`price_range_min` required), or bring back a built-in tier removed from the CLI."""
    current = TiersInForce(settings, store).build(cli_changes(store), warn=False)
    if tier_id in _config_names(settings):
        raise TierEditRefused(f"{_source(settings)} defines or removes tier {tier_id!r}; change it there")
    if tier_id in current:
        raise TierEditRefused(f"tier {tier_id!r} exists; change it with `costwarden tiers set {tier_id}`")
    if tier_id in _BUILTIN_IDS:  # removed from the CLI: bring it back, changed by the fields given
        book = _trial(settings, store, tier_id, dict(fields))
        if fields:
            store.save_tier(SavedTier(tier_id, dict(fields)))
        else:
            store.forget_tier(tier_id)
        return TierEdit(tier_id, book.get(tier_id))
    if "price_range_min" not in fields:
        raise TierEditRefused(f"new tier {tier_id!r} needs --min (its price_range_min)")
    book = _trial(settings, store, tier_id, dict(fields))
    store.save_tier(SavedTier(tier_id, dict(fields)))
    return TierEdit(tier_id, book.get(tier_id))


def set_tier(settings: Settings, store: TierStore, tier_id: str, fields: Mapping[str, Any]) -> TierEdit:
    """Change the fields given of a tier in force (built in, from the config, or added from the CLI)."""
    if not fields:
        raise TierEditRefused("give at least one field to change (--name, --min, --max, ...)")
    saved = {t.id: t for t in store.saved_tiers()}
    current = TiersInForce(settings, store).build(cli_changes(store), warn=False)
    if tier_id not in current:
        raise TierEditRefused(f"no tier {tier_id!r} (known: {_known(current)})", unknown=True)
    before = saved.get(tier_id)
    given = {**(dict(before.definition) if before is not None and not before.removed else {}), **fields}
    if tier_id in _config_names(settings):  # stored, overridden while the config names the tier
        try:
            apply_change(current.get(tier_id), TierChange.model_validate({**given, "id": tier_id}))
        except ValueError as exc:
            raise TierEditRefused(_reason(exc)) from None
        store.save_tier(SavedTier(tier_id, given))
        return TierEdit(tier_id, current.get(tier_id), overridden_by=_source(settings))
    book = _trial(settings, store, tier_id, given)
    store.save_tier(SavedTier(tier_id, given))
    return TierEdit(tier_id, book.get(tier_id))


def remove_tier(settings: Settings, store: TierStore, tier_id: str) -> TierEdit:
    """Remove a tier: forget one added from the CLI, or take a built-in tier away."""
    current = TiersInForce(settings, store).build(cli_changes(store), warn=False)
    if tier_id in _config_names(settings):
        raise TierEditRefused(f"tier {tier_id!r} comes from {_source(settings)} (tiers:); remove it there")
    if tier_id not in current:
        raise TierEditRefused(f"no tier {tier_id!r} (known: {_known(current)})", unknown=True)
    named = tier_references(settings).get(tier_id)
    if named is not None:
        raise TierEditRefused(f"{_source(settings)}: {named} names tier {tier_id!r}; change that first")
    if tier_id in _BUILTIN_IDS:
        _trial(settings, store, tier_id, None)
        store.save_tier(SavedTier(tier_id, removed=True))
    else:
        _trial(settings, store, tier_id, None, forget=True)
        store.forget_tier(tier_id)
    return TierEdit(tier_id, None)
