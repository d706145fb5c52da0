"""Tiers set from the CLI as stored, on every backend: saved, replaced, forgotten, and a version that
changes with each."""

from __future__ import annotations

from costwarden.config import Settings
from costwarden.storage.backend import backend_for_ledger
from costwarden.storage.ledger import Ledger
from costwarden.storage.tiers import SavedTier


def test_saved_tiers_round_trip_and_the_version_follows(ledger: Ledger) -> None:
    store = backend_for_ledger(ledger, Settings()).tiers
    assert store.saved_tiers() == []
    versions = [store.tiers_version()]
    store.save_tier(SavedTier("free", {"price_range_min": "0", "price_range_max": "0.01"}))
    versions.append(store.tiers_version())
    store.save_tier(SavedTier("premium", removed=True))
    versions.append(store.tiers_version())
    store.save_tier(SavedTier("free", {"price_range_min": "0", "display_name": "Gratis"}))
    versions.append(store.tiers_version())

    saved = store.saved_tiers()
    assert [(t.id, dict(t.definition), t.removed) for t in saved] == [
        ("free", {"price_range_min": "0", "display_name": "Gratis"}, False),
        ("premium", {}, True),
    ]
    assert all(t.updated > 0 for t in saved)

    assert store.forget_tier("premium") is True
    assert store.forget_tier("premium") is False
    versions.append(store.tiers_version())
    assert [t.id for t in store.saved_tiers()] == ["free"]
    assert len(set(versions)) == len(versions)


def test_every_backend_on_one_ledger_sees_the_same_tiers(ledger: Ledger) -> None:
    backend_for_ledger(ledger, Settings()).tiers.save_tier(SavedTier("bargain", {"price_range_min": "0"}))
    again = backend_for_ledger(ledger, Settings()).tiers
    assert [t.id for t in again.saved_tiers()] == ["bargain"]
