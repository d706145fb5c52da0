"""What the page's panels depend on, in a few cheap reads: the ledger's totals (every event, filtered), the
budgets' counters, the newest alerts and the dismissed insights. When it changes the page reloads its
panels."""

from __future__ import annotations

from costwarden.budgets.status import budget_status
from costwarden.dashboard.context import PageQuery
from costwarden.errors import ConfigError
from costwarden.reports.formats import money
from costwarden.storage.ledger import EventQuery
from costwarden.views.alerts import AlertsQuery, alerts_view
from costwarden.views.budget_status import engine_of
from costwarden.views.reader import aggregator_of, filters_of

__all__ = ["fingerprint"]


def fingerprint(page: PageQuery) -> str:
    warden = page.warden
    aggregator = aggregator_of(warden)
    with aggregator.snapshot():
        every = aggregator.total(EventQuery(where=filters_of(warden, page.where)))
    parts = [f"{every.events}:{money(every.cost)}", page.now.strftime("%Y-%m-%dT%H")]
    try:
        for s in budget_status(engine_of(warden), page.now):
            parts.append(f"{s.policy.id}|{s.scope}|{s.dimension}|{s.limit}|{s.spent}|{s.reserved}")
        newest = alerts_view(warden, AlertsQuery(limit=5)).alerts
        parts += [f"alert {a.id} {a.acknowledged is not None}" for a in newest]
    except ConfigError:
        pass
    parts += sorted(warden.backend.dismissals.dismissed())
    return "\n".join(parts)
