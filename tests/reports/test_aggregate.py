"""Report totals equal the sum of their events, on every backend, from rollups and from events alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from costwarden.config import settings_from_mapping
from costwarden.core.usage import UsageEvent
from costwarden.reports.aggregate import Aggregator, hour_to_local
from costwarden.storage.backend import backend_for_ledger
from costwarden.storage.ledger import EventQuery, Ledger
from costwarden.storage.rollups import RollupSource

from .history import NOW, oracle


def rollups_of(ledger: Ledger) -> RollupSource | None:
    """The rollups of the backend around `ledger` (None in memory)."""
    return backend_for_ledger(ledger, settings_from_mapping({})).rollups


Filler = Callable[[], list[UsageEvent]]
GROUPINGS: list[tuple[str, ...]] = [
    (),
    ("project",),
    ("project", "model"),
    ("agent", "provider"),
    ("session",),
    ("user", "run"),
    ("day",),
    ("hour",),
    ("month", "project"),
    ("tag:team",),
    ("day", "tag:team", "model"),
    ("status", "cost_source"),
]
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")


@pytest.mark.parametrize("zone", ZONES)
def test_totals_match_the_events(ledger: Ledger, filled: Callable[[], list[UsageEvent]], zone: str) -> None:
    truth = filled()
    tz = ZoneInfo(zone)
    aggregator = Aggregator(ledger, tz, rollups_of(ledger))
    ranges = [
        (None, None),
        (NOW - timedelta(days=40, minutes=17), NOW - timedelta(days=3, hours=2, seconds=5)),
        (NOW - timedelta(hours=30), NOW),
    ]
    for start, end in ranges:
        query = EventQuery(start=start, end=end)
        for group_by in GROUPINGS:
            expected = oracle(truth, group_by, tz, start, end)
            assert aggregator.totals(query, group_by) == expected, (zone, group_by, start)


def test_rollups_and_events_agree_and_filters_apply(ledger: Ledger, filled: Filler) -> None:
    truth = filled()
    tz = ZoneInfo("Europe/Berlin")
    store = rollups_of(ledger)
    fast = Aggregator(ledger, tz, store)
    slow = Aggregator(ledger, tz, store, use_rollups=False)
    where: dict[str, str | None] = {"project": "backend-api", "tag:team": "red"}
    query = EventQuery(start=NOW - timedelta(days=200), end=NOW, where=where)
    for group_by in GROUPINGS:
        assert fast.totals(query, group_by) == slow.totals(query, group_by)
        assert fast.totals(query, group_by) == oracle(truth, group_by, tz, query.start, query.end, where)
    unset = EventQuery(where={"project": None})
    assert fast.totals(unset, ("agent",)) == oracle(truth, ("agent",), tz, where={"project": None})
    if store is not None:
        whole = NOW.replace(minute=0)
        fast.totals(EventQuery(start=whole - timedelta(days=30), end=whole), ("project",))
        assert fast.last_sources == ("rollups",)
        fast.totals(EventQuery(start=whole - timedelta(days=30), end=NOW), ("project",))
        assert fast.last_sources == ("rollups", "events")
        assert store.verify() == []


def test_unpriced_and_failed_calls_are_counted(ledger: Ledger, filled: Filler) -> None:
    truth = filled()
    total = Aggregator(ledger, ZoneInfo("UTC"), rollups_of(ledger)).total()
    assert total.unpriced_events == sum(1 for e in truth if e.cost and e.cost.source == "unpriced") > 0
    assert total.unpriced_cost > 0
    assert total.error_events == sum(1 for e in truth if e.status == "error") > 0
    assert total.cost == sum((e.cost_total for e in truth), start=total.cost * 0)


def test_hour_to_local() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    local = hour_to_local("2026-03-29T00", berlin)
    assert local is not None and local.hour == 1
    assert hour_to_local("2026-03-29T01", berlin) is not None  # 03:00 CEST after the jump
    assert hour_to_local("2026-11-23T14", ZoneInfo("Asia/Kolkata")) is None
