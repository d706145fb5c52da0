"""The biggest spenders of a period: sessions, projects, agents, models, runs or users, most expensive
first. `top(warden, TopQuery(...))` answers `costwarden top`; `TopResult.to_json()` is `costwarden.top/1`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.reports.agent_runs import AgentRuns, agent_runs
from costwarden.reports.formats import period_json, rows_csv, totals_json
from costwarden.reports.model import share
from costwarden.reports.periods import Period
from costwarden.storage.ledger import EventQuery, Totals, WhereValue
from costwarden.views.basis import Basis, basis_of
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags
from costwarden.views.reader import aggregator_of, filters_of

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["TOP_SCHEMA", "KINDS", "TopQuery", "TopResult", "top", "kind_keys"]

TOP_SCHEMA = "costwarden.top/1"
KINDS: dict[str, tuple[str, ...]] = {
    "sessions": ("session",),
    "projects": ("project",),
    "agents": ("agent",),
    "models": ("provider", "model"),
    "providers": ("provider",),
    "runs": ("run",),
    "users": ("user",),
}
"""What can be ranked, and the keys a row of each is grouped by."""
_WITH_PROJECT = ("sessions", "runs", "agents")


def kind_keys(kind: str) -> tuple[str, ...] | None:
    """The group keys of a kind: one of `KINDS`, or `tag:NAME` (the values of one tag); None: neither."""
    if kind.startswith("tag:") and kind[4:].strip():
        return (kind,)
    return KINDS.get(kind)


@dataclass(frozen=True, slots=True)
class TopQuery:
    """Rank `kind` (one of `KINDS`) over the period (default this month), at most `limit` rows. With
    `projects`, sessions, runs and agents carry the project they spent most in."""

    kind: str = "sessions"
    limit: int = 10
    period: PeriodFlags = NO_PERIOD
    where: Mapping[str, WhereValue] = field(default_factory=dict)
    projects: bool = True


@dataclass(frozen=True, slots=True)
class TopResult:
    """The ranked rows and the period's whole cost (each row's share of it)."""

    SCHEMA: ClassVar[str] = TOP_SCHEMA

    kind: str
    period: Period
    rows: list[Totals]
    whole: Totals
    projects: dict[str, str | None] = field(default_factory=dict)
    """The project of each ranked session, run or agent (empty when not asked or not applicable)."""
    basis: Basis | None = None
    runs: dict[str | None, AgentRuns] = field(default_factory=dict)
    """Runs per agent when ranking agents (seed 001: run_count, average tokens and cost per run)."""

    @property
    def keys(self) -> tuple[str, ...]:
        return kind_keys(self.kind) or ()

    def share(self, row: Totals) -> Decimal:
        """The row's share of the period's cost, in percent (one decimal)."""
        return share(row.cost, self.whole.cost)

    def project_of(self, row: Totals) -> str | None:
        return self.projects.get(str(row.key[0]))

    def to_json(self) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        for rank, row in enumerate(self.rows, 1):
            item: dict[str, Any] = {"rank": rank, "key": dict(zip(self.keys, row.key, strict=True))}
            if self.projects:
                item["project"] = self.project_of(row)
            item.update(totals_json(row))
            item["share_percent"] = str(self.share(row))
            if self.kind == "agents":
                runs = self.runs.get(row.key[0])
                item.update((runs or AgentRuns(row.key[0], 0, 0, Decimal(0))).to_json())
            items.append(item)
        return {
            "schema": TOP_SCHEMA,
            "period": period_json(self.period),
            "by": self.kind,
            "rows": items,
            "basis": None if self.basis is None else self.basis.to_json(),
        }

    def to_csv(self) -> str:
        return rows_csv(self.rows, self.keys)


def top(warden: Warden, query: TopQuery) -> TopResult:
    """The `query.limit` biggest spenders of the period, from one snapshot of the ledger."""
    keys = kind_keys(query.kind)
    if keys is None:
        raise QueryError(f"cannot rank {query.kind!r}; choose one of {', '.join(KINDS)} or tag:NAME")
    period = query.period.resolve(warden.settings.tz, at=warden.clock.now())
    aggregator = aggregator_of(warden)
    every = EventQuery(start=period.start, end=period.end, where=filters_of(warden, query.where))
    projects: dict[str, str | None] = {}
    with aggregator.snapshot():
        whole = aggregator.total(every)
        ranked = [row for row in aggregator.totals(every, keys) if any(v is not None for v in row.key)]
        ranked = ranked[: query.limit]
        if query.kind in _WITH_PROJECT and query.projects:
            for row in aggregator.totals(every, (keys[0], "project")):
                if row.key[0] is not None and row.key[0] not in projects:
                    projects[row.key[0]] = row.key[1]  # rows come most expensive first
        basis = basis_of(warden, aggregator, every, min(warden.clock.now(), period.end))
        runs = agent_runs(aggregator, every) if query.kind == "agents" else {}
    return TopResult(query.kind, period, ranked, whole, projects, basis, runs)
