"""What every view reads through: an `Aggregator` over a Warden's ledger (with its rollups), the Warden's
timezone and "now", and filters in canonical names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from costwarden.reports.aggregate import Aggregator
from costwarden.storage.ledger import WhereValue
from costwarden.views.filters import canonical_where

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["aggregator_of", "filters_of"]


def aggregator_of(warden: Warden, *, use_rollups: bool = True) -> Aggregator:
    """An aggregator over the Warden's ledger, with its rollups when the ledger keeps them. A view answers
    inside one `Aggregator.snapshot()`, so its figures agree while other processes append."""
    return Aggregator(
        ledger=warden.ledger, tz=warden.settings.tz, rollups=warden.backend.rollups, use_rollups=use_rollups
    )


def filters_of(warden: Warden, where: Mapping[str, WhereValue]) -> dict[str, WhereValue]:
    """`where` with its `provider` and `model` values in the names events are stored under."""
    return canonical_where(where, warden.pricebook.canonical) if where else {}
