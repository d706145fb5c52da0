"""The basis of a report's figures: how many calls were priced from token usage and the price catalog (of
which date), how many the provider reported a cost for, how many were estimated and how many are unpriced,
and the reminder to verify against the provider's invoice.

Every report ends its human output with `Basis.line()` and carries `Basis.to_json()` under `basis` in its
JSON (schema `costwarden.basis/1`), so a reader knows what the figures rest on. Seed 004 asked for the
disclaimer in its own words; `DISCLAIMER` keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.core.usage import CostSource, UsageEvent
from costwarden.pricing.catalog import DatedCatalog
from costwarden.reports.aggregate import Aggregator
from costwarden.storage.ledger import EventQuery

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "BASIS_SCHEMA",
    "DISCLAIMER",
    "VERIFY",
    "Basis",
    "basis_of",
    "basis_of_events",
    "basis_from_counts",
]

BASIS_SCHEMA = "costwarden.basis/1"
DISCLAIMER = (
    "Costs are estimated based on token usage. Actual charges may vary. Verify with your API provider."
)
"""Seed 004's note, word for word."""
VERIFY = "verify against your provider's invoice"


@dataclass(frozen=True, slots=True)
class Basis:
    """What the figures of one report rest on: calls counted by where their cost came from."""

    SCHEMA: ClassVar[str] = BASIS_SCHEMA

    calls: int
    computed: int
    """Priced from token usage with the catalog, your overrides, custom or local models."""
    provider_reported: int
    estimated: int
    """Priced from estimated tokens (a broken stream, a call without usage)."""
    unpriced: int
    """Unknown models, counted at the configured fallback price."""
    catalog: str
    """The price catalog, e.g. `genai-prices 0.2.3`."""
    catalog_date: date | None
    """The newest price change the catalog knows at the report's end (None: not dated)."""
    prices_updated: date | None = None
    """`pricing.last_updated` of the configuration: when you last checked your own prices."""

    def line(self) -> str:
        """One line for the end of a report's human output."""
        if self.catalog_date is not None:
            catalog = f"the {self.catalog} price catalog of {self.catalog_date.isoformat()}"
        else:
            catalog = f"the {self.catalog} price catalog"
        if self.prices_updated is not None:
            catalog += f" and your prices of {self.prices_updated.isoformat()}"
        return (
            f"Basis: {self.computed:,} of {self.calls:,} calls computed from token usage and {catalog}, "
            f"{self.provider_reported:,} provider-reported, {self.estimated:,} estimated, "
            f"{self.unpriced:,} unpriced; {VERIFY}. Note: {DISCLAIMER}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": BASIS_SCHEMA,
            "calls": self.calls,
            "computed": self.computed,
            "provider_reported": self.provider_reported,
            "estimated": self.estimated,
            "unpriced": self.unpriced,
            "catalog": self.catalog,
            "catalog_date": None if self.catalog_date is None else self.catalog_date.isoformat(),
            "prices_updated": None if self.prices_updated is None else self.prices_updated.isoformat(),
            "note": VERIFY,
            "disclaimer": DISCLAIMER,
        }


def basis_of(warden: Warden, aggregator: Aggregator, query: EventQuery, at: datetime) -> Basis:
    """The basis of the figures over `query` (call inside the view's `aggregator.snapshot()`); the catalog
    is dated at `at` (the end of the period, or now when that is earlier)."""
    counts: dict[str, int] = {}
    for row in aggregator.totals(query, ("cost_source",)):
        source = row.key[0]
        if source is not None:
            counts[source] = counts.get(source, 0) + row.events
    return basis_from_counts(warden, counts, at)


def basis_of_events(warden: Warden, events: Iterable[UsageEvent], at: datetime) -> Basis:
    """The basis of figures read from `events` themselves (a session's calls)."""
    counts: dict[str, int] = {}
    for event in events:
        if event.cost is not None:
            source = CostSource(event.cost.source).value
            counts[source] = counts.get(source, 0) + 1
    return basis_from_counts(warden, counts, at)


def basis_from_counts(warden: Warden, counts: Mapping[str, int], at: datetime) -> Basis:
    """The basis of calls counted by cost source (`computed`, `provider_reported`, ...), the catalog dated
    at `at`."""
    by_source = {source.value: counts.get(source.value, 0) for source in CostSource}
    catalog = warden.pricebook.catalog
    dated = catalog.prices_as_of(at.date()) if isinstance(catalog, DatedCatalog) else None
    return Basis(
        calls=sum(by_source.values()),
        computed=by_source[CostSource.COMPUTED.value],
        provider_reported=by_source[CostSource.PROVIDER_REPORTED.value],
        estimated=by_source[CostSource.ESTIMATED.value],
        unpriced=by_source[CostSource.UNPRICED.value],
        catalog=catalog.version,
        catalog_date=dated,
        prices_updated=warden.settings.pricing.last_updated,
    )
