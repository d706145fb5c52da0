"""`/metrics` in the Prometheus text format.

Read from the database at each scrape (so every `serve` process answers the same figures): spend, tokens and
events by provider, model and project (all time, from the ledger and its rollups), budget utilization
(each budget and scope, from the counters admission enforces), provider quota windows. Counted in this
process: admissions by decision, refusals by budget, the admission latency histogram, requests by status.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from costwarden.access import Role
from costwarden.budgets import BudgetEngine
from costwarden.budgets.status import budget_status
from costwarden.server.auth import Caller, require
from costwarden.storage.ledger import EventQuery
from costwarden.views.reader import aggregator_of
from costwarden.warden import Warden

__all__ = ["ServerMetrics", "router"]

_TOKEN_KINDS = ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _LedgerCollector(Collector):
    """Figures read from the database when scraped."""

    def __init__(self, warden: Warden) -> None:
        self.warden = warden

    def collect(self) -> Iterator[Metric]:
        yield from self._spend()
        yield from self._budgets()
        yield from self._quotas()

    def _spend(self) -> Iterator[Metric]:
        labels = ["provider", "model", "project"]
        spend = CounterMetricFamily("costwarden_spend_usd", "Spend in USD (all time).", labels=labels)
        events = CounterMetricFamily("costwarden_events", "Calls recorded (all time).", labels=labels)
        tokens = CounterMetricFamily(
            "costwarden_tokens", "Tokens by kind (all time).", labels=[*labels, "kind"]
        )
        unpriced = CounterMetricFamily(
            "costwarden_unpriced_events", "Calls of models without a known price.", labels=labels
        )
        aggregator = aggregator_of(self.warden)
        with aggregator.snapshot():
            rows = aggregator.totals(EventQuery(), ("provider", "model", "project"))
        for row in rows:
            values = [v or "" for v in row.key]
            spend.add_metric(values, float(row.cost))
            events.add_metric(values, row.events)
            unpriced.add_metric(values, row.unpriced_events)
            for kind in _TOKEN_KINDS:
                tokens.add_metric([*values, kind], getattr(row, f"{kind}_tokens"))
        yield from (spend, events, tokens, unpriced)

    def _budgets(self) -> Iterator[Metric]:
        engine = self.warden.budgets
        if not isinstance(engine, BudgetEngine):
            return
        labels = ["budget", "scope", "unit"]
        ratio = GaugeMetricFamily(
            "costwarden_budget_utilization_ratio", "Spent plus reserved over the limit.", labels=labels
        )
        spent = GaugeMetricFamily(
            "costwarden_budget_spent", "Spent this period, in the budget's unit.", labels=labels
        )
        reserved = GaugeMetricFamily("costwarden_budget_reserved", "Held by calls in flight.", labels=labels)
        limit = GaugeMetricFamily(
            "costwarden_budget_limit", "The limit, in the budget's unit.", labels=labels
        )
        for row in budget_status(engine, engine.clock.now()):
            values = [row.policy.id, row.scope, row.unit.value]
            used = row.spent + row.reserved
            ratio.add_metric(values, used / row.limit if row.limit else (1.0 if used else 0.0))
            spent.add_metric(values, float(row.amount(row.spent)))
            reserved.add_metric(values, float(row.amount(row.reserved)))
            limit.add_metric(values, float(row.amount(row.limit)))
        yield from (ratio, spent, reserved, limit)

    def _quotas(self) -> Iterator[Metric]:
        left = GaugeMetricFamily(
            "costwarden_quota_remaining_ratio",
            "The fraction of a provider's rate-limit window left, as last seen.",
            labels=["provider", "window"],
        )
        for snapshot in self.warden.quotas.all():
            for name, window in snapshot.windows.items():
                if window.fraction_left is not None:
                    left.add_metric([snapshot.provider, name], float(window.fraction_left))
        yield left


class ServerMetrics:
    """The metrics of one app: its own registry (never the global one)."""

    def __init__(self, warden: Warden) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_LedgerCollector(warden))
        self.admissions = Counter(
            "costwarden_admissions", "Admissions answered, by decision.", ["decision"], registry=self.registry
        )
        self.refusals = Counter(
            "costwarden_refusals", "Admissions refused, by budget.", ["budget"], registry=self.registry
        )
        self.settlements = Counter(
            "costwarden_settlements", "Admissions settled or released.", ["outcome"], registry=self.registry
        )
        self.admission_seconds = Histogram(
            "costwarden_admission_seconds",
            "Time to answer an admission.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ingested = Counter(
            "costwarden_ingested_events",
            "Events received by POST /events.",
            ["outcome"],
            registry=self.registry,
        )
        self._lock = threading.Lock()

    def render(self) -> bytes:
        with self._lock:
            return generate_latest(self.registry)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request, caller: Annotated[Caller, Depends(require(Role.READER))]) -> Response:
    """Prometheus metrics (a reader key of every project)."""
    caller.unrestricted("metrics")
    body = await run_in_threadpool(request.app.state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
