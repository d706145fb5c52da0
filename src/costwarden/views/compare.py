"""Two or more projects (agents, models, providers, users, tags, ...) side by side over one period: cost,
share, tokens, calls, sessions, averages per call and per session, their top models, and the change against
the period before. `compare(warden, CompareQuery(...))` answers `costwarden compare A B`;
`CompareResult.to_json()` is `costwarden.compare/1` (docs/reports.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.aggregate import Aggregator
from costwarden.reports.formats import money, period_json, totals_json
from costwarden.reports.model import share
from costwarden.reports.periods import Period, previous_period
from costwarden.storage.ledger import EventQuery, Totals, WhereValue, check_group_key
from costwarden.storage.totals import empty_totals
from costwarden.views.basis import Basis, basis_of
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "COMPARE_SCHEMA",
    "COMPARE_DIMENSIONS",
    "CompareQuery",
    "CompareItem",
    "CompareResult",
    "compare",
    "percent_change",
    "signed_money",
]

COMPARE_SCHEMA = "costwarden.compare/1"
COMPARE_DIMENSIONS: tuple[str, ...] = (
    "project",
    "agent",
    "model",
    "provider",
    "user",
    "session",
    "run",
    "task",
    "task_type",
    "plan",
)
"""What can be compared (plus `tag:NAME`)."""
_CENT = Decimal("0.0000000001")


def signed_money(amount: Decimal) -> str:
    """`money` with a sign for a negative amount: `-1.50`."""
    return money(amount) if amount >= 0 else f"-{money(-amount)}"


def percent_change(now: Decimal, before: Decimal) -> Decimal | None:
    """How much `now` moved against `before`, in percent to one decimal; None when `before` is 0."""
    if before == 0:
        return None
    return ((now - before) * 100 / before).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True)
class CompareQuery:
    """Compare `values` of the dimension `by` over the period (default this month), within `where`;
    `top_models` models per value."""

    values: tuple[str, ...]
    by: str = "project"
    period: PeriodFlags = NO_PERIOD
    where: Mapping[str, WhereValue] = field(default_factory=dict)
    top_models: int = 3


@dataclass(frozen=True, slots=True)
class CompareItem:
    """One compared value: its sums over the period and the period before."""

    value: str
    """As stored (a model or provider in its canonical name)."""
    given: str
    """As asked."""
    totals: Totals
    sessions: int
    previous: Totals
    previous_sessions: int
    top_models: list[Totals]
    """`(provider, model)` rows, most expensive first."""

    @property
    def average_per_call(self) -> Decimal:
        calls = self.totals.events
        return Decimal(0) if not calls else (self.totals.cost / calls).quantize(_CENT)

    @property
    def average_per_session(self) -> Decimal:
        return Decimal(0) if not self.sessions else (self.totals.cost / self.sessions).quantize(_CENT)

    @property
    def change(self) -> Decimal:
        """The cost now less the cost of the period before."""
        return self.totals.cost - self.previous.cost

    @property
    def change_percent(self) -> Decimal | None:
        return percent_change(self.totals.cost, self.previous.cost)


@dataclass(frozen=True, slots=True)
class CompareResult:
    """The compared values in the order asked, the period and the one before, and the basis of figures."""

    SCHEMA: ClassVar[str] = COMPARE_SCHEMA

    by: str
    period: Period
    previous_period: Period | None
    items: list[CompareItem]
    whole: Totals
    """Every event of the period within the filters (the compared values and the rest)."""
    basis: Basis

    @property
    def compared_cost(self) -> Decimal:
        return sum((item.totals.cost for item in self.items), start=Decimal(0))

    def share(self, item: CompareItem) -> Decimal:
        """The item's share of the compared values' cost, in percent."""
        return share(item.totals.cost, self.compared_cost)

    def share_of_total(self, item: CompareItem) -> Decimal:
        """The item's share of the whole period's cost."""
        return share(item.totals.cost, self.whole.cost)

    def to_json(self) -> dict[str, Any]:
        items = []
        for item in self.items:
            items.append(
                {
                    "value": item.value,
                    "given": item.given,
                    **totals_json(item.totals),
                    "sessions": item.sessions,
                    "share_percent": str(self.share(item)),
                    "share_of_total_percent": str(self.share_of_total(item)),
                    "average_per_call": money(item.average_per_call),
                    "average_per_session": money(item.average_per_session),
                    "top_models": [
                        {"provider": m.key[0], "model": m.key[1], "cost": money(m.cost), "events": m.events}
                        for m in item.top_models
                    ],
                    "previous": {
                        "cost": money(item.previous.cost),
                        "total_tokens": item.previous.total_tokens,
                        "events": item.previous.events,
                        "sessions": item.previous_sessions,
                    },
                    "change": signed_money(item.change),
                    "change_percent": None if item.change_percent is None else str(item.change_percent),
                }
            )
        return {
            "schema": COMPARE_SCHEMA,
            "by": self.by,
            "period": period_json(self.period),
            "previous_period": None if self.previous_period is None else period_json(self.previous_period),
            "items": items,
            "compared_cost": money(self.compared_cost),
            "total_cost": money(self.whole.cost),
            "basis": self.basis.to_json(),
        }

    def to_csv(self) -> str:
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                self.by,
                "cost",
                "share_percent",
                "total_tokens",
                "input_tokens",
                "output_tokens",
                "events",
                "sessions",
                "average_per_call",
                "average_per_session",
                "top_model",
                "previous_cost",
                "change",
                "change_percent",
            ]
        )
        for item in self.items:
            best = item.top_models[0] if item.top_models else None
            writer.writerow(
                [
                    item.value,
                    money(item.totals.cost),
                    str(self.share(item)),
                    item.totals.total_tokens,
                    item.totals.input_tokens,
                    item.totals.output_tokens,
                    item.totals.events,
                    item.sessions,
                    money(item.average_per_call),
                    money(item.average_per_session),
                    "" if best is None else f"{best.key[0]}/{best.key[1]}",
                    money(item.previous.cost),
                    signed_money(item.change),
                    "" if item.change_percent is None else str(item.change_percent),
                ]
            )
        return out.getvalue()


def _stored_names(warden: Warden, by: str, values: tuple[str, ...]) -> list[str]:
    """The names events are stored under (a model or provider alias resolved)."""
    if by == "provider":
        return [warden.pricebook.canonical(v, "")[0] for v in values]
    if by == "model":
        out = []
        for value in values:
            provider, _, model = value.rpartition("/")
            out.append(warden.pricebook.canonical(provider, model)[1])
        return out
    return list(values)


def _side(
    aggregator: Aggregator, period: Period, where: dict[str, WhereValue], by: str, names: list[str], top: int
) -> tuple[dict[str, Totals], dict[str, int], dict[str, list[Totals]]]:
    query = EventQuery(start=period.start, end=period.end, where={**where, by: tuple(names)})
    totals = {str(r.key[0]): r for r in aggregator.totals(query, (by,)) if r.key[0] is not None}
    sessions: dict[str, int] = {}
    for row in aggregator.totals(query, (by, "session")):
        if row.key[0] is not None and row.key[1] is not None:
            sessions[row.key[0]] = sessions.get(row.key[0], 0) + 1
    models: dict[str, list[Totals]] = {}
    if top:
        keys = tuple(dict.fromkeys((by, "provider", "model")))  # `--by provider`: one provider column
        at = keys.index(by)
        for row in aggregator.totals(query, keys):
            pair = (row.key[keys.index("provider")], row.key[keys.index("model")])
            picked = models.setdefault(str(row.key[at]), [])
            if len(picked) < top:
                picked.append(replace(row, key=pair))
    return totals, sessions, models


def compare(warden: Warden, query: CompareQuery) -> CompareResult:
    """The compared values over the period and the period before, from one snapshot of the ledger. Fewer
    than two values, a value named twice or an unknown dimension is a `QueryError`."""
    if query.by not in COMPARE_DIMENSIONS and not query.by.startswith("tag:"):
        choices = ", ".join(COMPARE_DIMENSIONS)
        raise QueryError(f"cannot compare by {query.by!r}; choose one of {choices} or tag:NAME", "--by")
    try:
        check_group_key(query.by)
    except ValueError as exc:
        raise QueryError(str(exc), "--by") from None
    if len(query.values) < 2:
        raise QueryError(f"name at least two {query.by} values to compare", "VALUES")
    if query.top_models < 0:
        raise QueryError("expected 0 or more", "--top-models")
    names = _stored_names(warden, query.by, query.values)
    seen: set[str] = set()
    for given, name in zip(query.values, names, strict=True):
        if name in seen:
            raise QueryError(f"{given!r} is named twice (as {name!r})", "VALUES")
        seen.add(name)
    now: datetime = warden.clock.now()
    period = query.period.resolve(warden.settings.tz, at=now)
    before = previous_period(period)
    where = filters_of(warden, query.where)
    if query.by in where:
        raise QueryError(f"--where {query.by}=... and compare by {query.by} cannot be combined", "--where")
    aggregator = aggregator_of(warden)
    with aggregator.snapshot():
        totals, sessions, models = _side(aggregator, period, where, query.by, names, query.top_models)
        if before is not None:
            old, old_sessions, _ = _side(aggregator, before, where, query.by, names, 0)
        else:
            old, old_sessions = {}, {}
        every = EventQuery(start=period.start, end=period.end, where=where)
        whole = aggregator.total(every)
        compared = EventQuery(start=period.start, end=period.end, where={**where, query.by: tuple(names)})
        basis = basis_of(warden, aggregator, compared, min(now, period.end))
    items = [
        CompareItem(
            value=name,
            given=given,
            totals=totals.get(name) or _keyed(name),
            sessions=sessions.get(name, 0),
            previous=old.get(name) or _keyed(name),
            previous_sessions=old_sessions.get(name, 0),
            top_models=models.get(name, []),
        )
        for given, name in zip(query.values, names, strict=True)
    ]
    return CompareResult(query.by, period, before, items, whole, basis)


def _keyed(name: str) -> Totals:
    return replace(empty_totals(), key=(name,))
