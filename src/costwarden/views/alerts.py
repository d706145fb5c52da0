"""The alert feed: thresholds crossed (once per budget, period and threshold), exhaustions (blocks,
terminated runs, queue timeouts, fallbacks) and channels failing or recovering, newest first.
`alerts_view(warden, AlertsQuery(...))` answers `costwarden alerts`; its JSON (`costwarden.alerts/1`) is a
list of alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.budgets import AlertRecord, BudgetEngine
from costwarden.errors import ConfigError
from costwarden.notify.message import CHANNEL_KINDS, alert_json
from costwarden.storage.budgets import Acknowledgement, BudgetRecords
from costwarden.views.errors import QueryError

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "ALERTS_SCHEMA",
    "ALERT_KINDS",
    "AlertsQuery",
    "AlertsResult",
    "alerts_view",
    "alert_json",
    "alert_records",
    "acknowledge_alert",
]

ALERTS_SCHEMA = "costwarden.alerts/1"

ALERT_KINDS: tuple[str, ...] = (
    "threshold",
    "warn",
    "block",
    "terminate_run",
    "queue_timeout",
    "fallback",
    *CHANNEL_KINDS,
)


@dataclass(frozen=True, slots=True)
class AlertsQuery:
    """At most `limit` alerts, newest first; only these `kinds` (of `ALERT_KINDS`; none: all) and only
    this `budget` id."""

    limit: int = 50
    kinds: tuple[str, ...] = ()
    budget: str | None = None
    acknowledged: bool | None = None
    """Only alerts acknowledged (True) or not yet acknowledged (False); None: both."""


@dataclass(frozen=True, slots=True)
class AlertsResult:
    """The feed, newest first. Its JSON is a list (the shape `costwarden alerts --json` always printed): the
    schema id is `SCHEMA`, for an envelope that carries one (the REST API's)."""

    SCHEMA: ClassVar[str] = ALERTS_SCHEMA

    alerts: list[AlertRecord] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [alert_json(a) for a in self.alerts]


def alerts_view(warden: Warden, query: AlertsQuery) -> AlertsResult:
    """The feed from the budget records; an unknown kind, or a budget id that names neither a budget nor
    an alert, is a `QueryError` (`--kind`, `--budget`); without a database ledger a `ConfigError`."""
    for item in query.kinds:
        if item not in ALERT_KINDS:
            raise QueryError(f"unknown kind {item!r}; choose from {', '.join(ALERT_KINDS)}", "--kind")
    engine = _engine(warden)
    assert engine.records is not None
    budget = query.budget
    feed = engine.records.alerts(
        limit=query.limit, kinds=list(query.kinds) or None, budget_id=budget, acknowledged=query.acknowledged
    )
    unknown = budget is not None and not feed and budget not in engine.policies.by_id
    if unknown and not engine.records.alerts(limit=1, budget_id=budget):
        raise QueryError(
            f"no budget {budget!r} (see `costwarden budget list`) and no alert of one", "--budget"
        )
    return AlertsResult(list(feed))


def _engine(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    if not isinstance(engine, BudgetEngine) or engine.records is None:
        raise ConfigError("the alert feed needs a database ledger", key="database")
    return engine


def alert_records(warden: Warden) -> BudgetRecords:
    """Where the feed is kept (to acknowledge an alert); without a database ledger a `ConfigError`."""
    records = _engine(warden).records
    assert records is not None
    return records


def acknowledge_alert(warden: Warden, alert_id: int, by: str, note: str | None = None) -> AlertRecord | None:
    """Acknowledge alert `alert_id` now (by the warden's clock) as `by`; the first acknowledgement of an
    alert is kept (a second one answers the alert as it stands). None when there is no such alert."""
    ack = Acknowledgement(at=warden.clock.now(), by=by, note=note)
    return alert_records(warden).acknowledge(alert_id, ack)
