"""Usage patterns of a period (default: the last 30 days): cost by hour of day, by day of week, and the
model mix. `analyze(warden, AnalyzeQuery(...))` answers `costwarden analyze`; `AnalyzeResult.to_json()` is
`costwarden.analyze/1`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.charts import by_hour_of_day, by_weekday
from costwarden.reports.formats import money, period_json, totals_json
from costwarden.reports.periods import Period
from costwarden.storage.ledger import EventQuery, Totals, WhereValue
from costwarden.views.basis import Basis, basis_of
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["ANALYZE_SCHEMA", "AnalyzeQuery", "AnalyzeResult", "analyze", "model_mix"]

ANALYZE_SCHEMA = "costwarden.analyze/1"


@dataclass(frozen=True, slots=True)
class AnalyzeQuery:
    """Which patterns: by hour of day, by day of week, by model (none chosen: all three)."""

    by_hour: bool = False
    by_day: bool = False
    by_model: bool = False
    period: PeriodFlags = NO_PERIOD
    where: Mapping[str, WhereValue] = field(default_factory=dict)

    @property
    def every(self) -> bool:
        return not (self.by_hour or self.by_day or self.by_model)


@dataclass(frozen=True, slots=True)
class AnalyzeResult:
    """The patterns asked for (None for those not asked), and the period's totals."""

    SCHEMA: ClassVar[str] = ANALYZE_SCHEMA

    period: Period
    totals: Totals
    hours: list[Totals] | None = None
    """24 rows keyed by local hour `00`..`23`."""
    days: list[Totals] | None = None
    """7 rows keyed by weekday, Monday first."""
    models: list[Totals] | None = None
    """Rows keyed `(provider, model)`, most expensive first."""
    basis: Basis | None = None
    """What the figures rest on (`costwarden.views.basis`)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": ANALYZE_SCHEMA,
            "period": period_json(self.period),
            "totals": totals_json(self.totals),
        }
        if self.hours is not None:
            out["by_hour"] = [{"hour": r.key[0], **totals_json(r)} for r in self.hours]
        if self.days is not None:
            out["by_day"] = [{"weekday": r.key[0], **totals_json(r)} for r in self.days]
        if self.models is not None:
            out["by_model"] = [
                {"provider": r.key[0], "model": r.key[1], **totals_json(r), **model_mix(r)}
                for r in self.models
            ]
        out["basis"] = None if self.basis is None else self.basis.to_json()
        return out


def _ratio(part: int, whole: int) -> Decimal:
    return Decimal(0) if not whole else (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


def model_mix(row: Totals) -> dict[str, Any]:
    """Per-model figures beyond the sums: average cost per call, cache-read share of input, output share."""
    all_input = row.input_tokens + row.cache_read_tokens + row.cache_write_tokens + row.cache_write_1h_tokens
    return {
        "average_cost_per_call": money(
            (row.cost / row.events).quantize(Decimal("1E-10")) if row.events else Decimal(0)
        ),
        "cache_read_percent": str(_ratio(row.cache_read_tokens, all_input)),
        "output_percent": str(_ratio(row.output_tokens, row.total_tokens)),
        "error_percent": str(_ratio(row.error_events, row.events)),
    }


def analyze(warden: Warden, query: AnalyzeQuery) -> AnalyzeResult:
    """The patterns of the period, from one snapshot of the ledger."""
    every = query.every
    period = query.period.resolve(warden.settings.tz, default="last-30-days", at=warden.clock.now())
    aggregator = aggregator_of(warden)
    asked = EventQuery(start=period.start, end=period.end, where=filters_of(warden, query.where))
    with aggregator.snapshot():
        whole = aggregator.total(asked)
        hours = by_hour_of_day(aggregator.totals(asked, ("hour",))) if every or query.by_hour else None
        days = by_weekday(aggregator.totals(asked, ("day",))) if every or query.by_day else None
        models = aggregator.totals(asked, ("provider", "model")) if every or query.by_model else None
        basis = basis_of(warden, aggregator, asked, min(warden.clock.now(), period.end))
    return AnalyzeResult(period, whole, hours, days, models, basis)
