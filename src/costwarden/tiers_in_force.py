"""The cost tiers in force for one database: the config's `tiers:` section with the tiers set from the CLI
(`costwarden tiers add/set/remove`, kept in the database) laid over it, re-read when they change.

The config wins on an id it names, and a tier the config's providers name (`cost_tier`) cannot be
removed from the CLI; see `costwarden.pricing.tiers.layer_tiers`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from costwarden.forking import ForkSafeLock
from costwarden.pricing.tiers import CliChanges, TierBook, layer_tiers

if TYPE_CHECKING:
    from costwarden.config import Settings
    from costwarden.storage.tiers import TierStore

__all__ = ["TiersInForce", "cli_changes", "tier_references"]

_log = logging.getLogger("costwarden.tiers")


def cli_changes(store: TierStore) -> dict[str, dict[str, object] | None]:
    """The tiers set from the CLI, as `layer_tiers` takes them."""
    return {t.id: None if t.removed else dict(t.definition) for t in store.saved_tiers()}


def tier_references(settings: Settings) -> dict[str, str]:
    """The tiers the config's providers name: tier id -> the first key naming it."""
    from costwarden.config import cost_tier_keys

    out: dict[str, str] = {}
    for key, tier in cost_tier_keys(settings):
        out.setdefault(tier, key)
    return out


class TiersInForce:
    """The `TierBook` of a config and a tier store, read again when the store's version changes (asked at
    most every `admission.refresh` seconds)."""

    def __init__(self, settings: Settings, store: TierStore) -> None:
        self.settings = settings
        self.store = store
        self._book: TierBook | None = None
        self._version: str | None = None
        self._checked = 0.0
        self._lock = ForkSafeLock()

    def book(self) -> TierBook:
        now = time.monotonic()
        with self._lock:
            if self._book is None or now >= self._checked:
                self._checked = now + self.settings.admission.refresh
                version = self.store.tiers_version()
                if self._book is None or version != self._version:
                    self._version = version
                    self._book = self.build(cli_changes(self.store))
            return self._book

    def build(self, cli: CliChanges, *, warn: bool = True) -> TierBook:
        """The book with `cli` as the tiers set from the CLI (what `tiers add/set/remove` would make);
        `warn`: log the tiers set from the CLI that are left out."""
        layers = layer_tiers(self.settings.tiers, cli, keep=tier_references(self.settings))
        for tier_id, reason in layers.skipped if warn else ():
            _log.warning("ignoring tier %r set from the CLI: %s", tier_id, reason)
        return TierBook(self.settings.tiers, layers)

    def reread(self) -> None:
        """Read the store again on next use (after this process changed it)."""
        self._checked = 0.0
