"""Where money could be saved over a period (default: the last 30 days), biggest saving first, with the
evidence; a dismissed suggestion stays dismissed. `insights_view(warden, InsightsQuery(...))` answers
`costwarden insights`; `InsightsResult.to_json()` is `costwarden.insights/1`. `change_dismissals`
dismisses and restores suggestions by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.formats import period_json, records_csv
from costwarden.reports.insights import Insight, find_insights, insight_json
from costwarden.reports.periods import Period
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "INSIGHTS_SCHEMA",
    "InsightsQuery",
    "InsightsResult",
    "DismissalChange",
    "insights_view",
    "change_dismissals",
]

INSIGHTS_SCHEMA = "costwarden.insights/1"
INSIGHT_CSV_COLUMNS = (
    "id",
    "kind",
    "title",
    "estimated_monthly_saving",
    "suggestion",
    "dismissed",
    "subject",
    "evidence",
)


@dataclass(frozen=True, slots=True)
class InsightsQuery:
    """The period the suggestions are drawn from; `show_all` keeps the dismissed ones in `shown`."""

    period: PeriodFlags = NO_PERIOD
    show_all: bool = False


@dataclass(frozen=True, slots=True)
class InsightsResult:
    SCHEMA: ClassVar[str] = INSIGHTS_SCHEMA

    period: Period
    found: list[Insight] = field(default_factory=list)
    """Every suggestion of the period, dismissed ones marked."""
    show_all: bool = False

    @property
    def shown(self) -> list[Insight]:
        return [i for i in self.found if self.show_all or not i.dismissed]

    @property
    def dismissed(self) -> int:
        return sum(1 for i in self.found if i.dismissed)

    @property
    def monthly_saving(self) -> Decimal:
        """The estimated saving per month of the shown suggestions not dismissed."""
        return sum((i.monthly_saving for i in self.shown if not i.dismissed), start=Decimal(0))

    def to_csv(self) -> str:
        """One row per suggestion shown: id, kind, title, saving per month, suggestion, subject, evidence."""
        rows = [insight_json(i) for i in self.shown]
        return records_csv(rows, INSIGHT_CSV_COLUMNS)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": INSIGHTS_SCHEMA,
            "period": period_json(self.period),
            "insights": [insight_json(i) for i in self.shown],
            "dismissed": self.dismissed,
        }


@dataclass(frozen=True, slots=True)
class DismissalChange:
    """One `--dismiss` (`dismissed` True) or `--restore` of an insight id; `changed` is False when it was
    already so."""

    insight_id: str
    dismissed: bool
    changed: bool


def insights_view(warden: Warden, query: InsightsQuery) -> InsightsResult:
    """The suggestions of the period at the Warden's "now", from one snapshot of the ledger."""
    now = warden.clock.now()
    period = query.period.resolve(warden.settings.tz, default="last-30-days", at=now)
    store = warden.backend.dismissals
    aggregator = aggregator_of(warden)
    with aggregator.snapshot():
        found = find_insights(
            aggregator, warden.pricebook, warden.tiers, period, now=now, dismissed=list(store.dismissed())
        )
    return InsightsResult(period, found, query.show_all)


def change_dismissals(
    warden: Warden, seen: InsightsResult, dismiss: Sequence[str] = (), restore: Sequence[str] = ()
) -> list[DismissalChange]:
    """Dismiss, then restore, insights by id. Every id must be one of `seen` (the period's suggestions) or
    already dismissed, else nothing changes and a `QueryError` names `--dismiss` or `--restore`."""
    store = warden.backend.dismissals
    known = {i.id for i in seen.found} | set(store.dismissed())
    for option, items in (("--dismiss", dismiss), ("--restore", restore)):
        for item in items:
            if item not in known:
                raise QueryError(
                    f"no insight {item!r} in {seen.period.label} (`costwarden insights --all` lists the ids)",
                    option,
                )
    now = warden.clock.now()
    changes = [DismissalChange(item, True, store.dismiss(item, at=now)) for item in dismiss]
    changes += [DismissalChange(item, False, store.restore(item)) for item in restore]
    return changes
