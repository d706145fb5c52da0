"""Totals: exact sums, every group key, UTC periods, ordering, filters and half-open time ranges."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from costwarden.core.usage import CostSource, UsageEvent
from costwarden.errors import ValidationError
from costwarden.ledger import GROUP_FIELDS, EventQuery, Ledger

T0 = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
MakeEvent = Callable[..., UsageEvent]


def test_sums_are_exact(ledger: Ledger, make_event: MakeEvent) -> None:
    rng = random.Random(7)
    amounts = [Decimal(rng.randrange(1, 10**12)).scaleb(-10) for _ in range(1000)]  # up to $100, 10 places
    events = [
        make_event(
            cost=amount,
            project=f"p{i % 7}",
            input_tokens=rng.randrange(10**7),
            output_tokens=rng.randrange(10**6),
            occurred_at=T0 + timedelta(seconds=i),
        )
        for i, amount in enumerate(amounts)
    ]
    ledger.append_many(events[:400])
    for event in events[400:450]:
        ledger.append(event)
    ledger.append_many(events[450:])
    (total,) = ledger.totals()
    assert total.cost == sum(amounts)
    assert total.events == 1000
    assert total.input_tokens == sum(e.usage.input_tokens for e in events)
    assert total.total_tokens == sum(e.usage.total_tokens for e in events)
    by_project = ledger.totals(group_by=["project"])
    assert sum((row.cost for row in by_project), Decimal(0)) == total.cost
    for row in by_project:
        assert row.cost == sum(e.cost_total for e in events if e.attribution.project == row.key[0])
        assert row.cost.as_tuple().exponent >= -10


def test_large_sums_stay_exact(ledger: Ledger, make_event: MakeEvent) -> None:
    amounts = [Decimal("123456.7890123457"), Decimal("9999999.9999999999"), Decimal("0.0000000001")]
    ledger.append_many(make_event(cost=a) for a in amounts)
    assert ledger.totals()[0].cost == Decimal("10123456.7890123457")


FIELD_OF_KEY = {
    "provider": lambda i: {"provider": f"prov{i}"},
    "model": lambda i: {"model": f"model-{i}"},
    "given_provider": lambda i: {"provider": f"prov{i}"},
    "given_model": lambda i: {"model": f"model-{i}"},
    "status": lambda i: {"status": ["ok", "error", "cancelled"][i]},
    "source": lambda i: {"source": ["sdk", "proxy", "import"][i]},
    "tag:team": lambda i: {"tags": {"team": f"t{i}", "other": "x"}},
    "tag:a.b \u00e9": lambda i: {"tags": {"a.b \u00e9": f"v{i}"}},
    'tag:quo"te\\': lambda i: {"tags": {'quo"te\\': f"q{i}"}},
}


@pytest.mark.parametrize(
    "key", [*(k for k in GROUP_FIELDS if k not in ("hour", "day", "month", "cost_source")), *FIELD_OF_KEY]
)
def test_group_by_each_key(ledger: Ledger, make_event: MakeEvent, key: str) -> None:
    fields = FIELD_OF_KEY.get(key) or (lambda i, key=key: {key: f"{key}-{i}"})
    events = [make_event(cost=f"0.{i + 1}", **fields(i % 3)) for i in range(9)]
    events.append(make_event(cost="0.05"))  # the field unset (or the default)
    ledger.append_many(events)
    rows = ledger.totals(group_by=[key])
    assert sum(r.events for r in rows) == 10
    expected = Counter(_value(e, key) for e in events)
    assert {r.key: r.events for r in rows} == {(k,): n for k, n in expected.items()}
    for row in rows:
        assert row.cost == sum(e.cost_total for e in events if _value(e, key) == row.key[0])


def test_given_names_group_and_filter_apart_from_the_canonical_ones(
    ledger: Ledger, make_event: MakeEvent
) -> None:
    dated = replace(
        make_event(cost="1", provider="anthropic", model="claude-sonnet-4-5"),
        given_provider="claude",
        given_model="claude-sonnet-4-5-20250929",
    )
    short = make_event(cost="2", provider="anthropic", model="claude-sonnet-4-5")
    ledger.append_many([dated, short])
    assert ledger.get(dated.id) == dated
    assert [(r.key, r.cost) for r in ledger.totals(group_by=["model"])] == [(("claude-sonnet-4-5",), 3)]
    assert [(r.key, r.cost) for r in ledger.totals(group_by=["given_model"])] == [
        (("claude-sonnet-4-5",), 2),
        (("claude-sonnet-4-5-20250929",), 1),
    ]
    assert [(r.key, r.cost) for r in ledger.totals(group_by=["given_provider"])] == [
        (("anthropic",), 2),
        (("claude",), 1),
    ]
    (only,) = ledger.totals(EventQuery(where={"given_model": "claude-sonnet-4-5-20250929"}))
    assert only.cost == 1
    assert [e.id for e in ledger.events(EventQuery(where={"given_provider": "anthropic"}))] == [short.id]


def _value(event: UsageEvent, key: str) -> str | None:
    if key == "provider":
        return event.provider
    if key == "model":
        return event.model
    if key == "given_provider":
        return event.names_given[0]
    if key == "given_model":
        return event.names_given[1]
    if key == "status":
        return event.status.value
    if key == "source":
        return event.source.value
    return event.attribution.get(key)


def test_group_by_cost_source_counts_unpriced_and_errors(ledger: Ledger, make_event: MakeEvent) -> None:
    ledger.append_many(
        [
            make_event(cost="0.5", cost_source=CostSource.UNPRICED),
            make_event(cost="0.25", cost_source=CostSource.UNPRICED, status="error"),
            make_event(cost="1", cost_source=CostSource.PROVIDER_REPORTED),
            make_event(cost="0.125", cost_source=CostSource.ESTIMATED, status="error"),
            make_event(cost="2", status="cancelled"),
        ]
    )
    (total,) = ledger.totals()
    assert (total.unpriced_events, total.unpriced_cost, total.error_events) == (2, Decimal("0.75"), 2)
    rows = {r.key[0]: r for r in ledger.totals(group_by=["cost_source"])}
    assert set(rows) == {"unpriced", "provider_reported", "estimated", "computed"}
    assert rows["unpriced"].unpriced_cost == Decimal("0.75")
    assert rows["computed"].unpriced_events == 0
    assert rows["estimated"].error_events == 1


def test_periods_are_utc(ledger: Ledger, make_event: MakeEvent) -> None:
    new_york = timezone(timedelta(hours=-5))
    ledger.append_many(
        [
            make_event(cost="1", occurred_at=datetime(2026, 11, 23, 23, 30, tzinfo=new_york)),  # 24th 04:30Z
            make_event(cost="2", occurred_at=datetime(2026, 11, 30, 23, 30, tzinfo=new_york)),  # Dec 1st
            make_event(cost="4", occurred_at=datetime(2026, 11, 24, 4, 59, 59, 999999, tzinfo=UTC)),
            make_event(cost="8", occurred_at=datetime(2000, 1, 1, 0, 59, 59, 500000, tzinfo=UTC)),
            make_event(cost="16", occurred_at=datetime(2026, 1, 1, tzinfo=UTC)),
        ]
    )
    hours = {r.key[0]: r.cost for r in ledger.totals(group_by=["hour"])}
    assert hours == {
        "2026-11-24T04": Decimal(5),
        "2026-12-01T04": Decimal(2),
        "2000-01-01T00": Decimal(8),
        "2026-01-01T00": Decimal(16),
    }
    days = {r.key[0]: r.cost for r in ledger.totals(group_by=["day"])}
    assert days == {"2026-11-24": 5, "2026-12-01": 2, "2000-01-01": 8, "2026-01-01": 16}
    months = {r.key[0]: r.cost for r in ledger.totals(group_by=["month"])}
    assert months == {"2026-11": 5, "2026-12": 2, "2000-01": 8, "2026-01": 16}


def test_several_keys_and_order(ledger: Ledger, make_event: MakeEvent) -> None:
    ledger.append_many(
        [
            make_event(cost="1", project="b", agent="x"),
            make_event(cost="1", project="a", agent="y"),
            make_event(cost="1", project=None, agent="y"),
            make_event(cost="1", project="a", agent=None),
            make_event(cost="3", project="c", agent="x", occurred_at=T0 + timedelta(days=1)),
            make_event(cost="0.5", project="b", agent="x"),
        ]
    )
    rows = ledger.totals(group_by=["project", "agent", "day"])
    assert [r.key for r in rows] == [
        ("c", "x", "2026-11-24"),
        ("b", "x", "2026-11-23"),  # 1.5
        ("a", "y", "2026-11-23"),  # ties on 1: key ascending, unset last
        ("a", None, "2026-11-23"),
        (None, "y", "2026-11-23"),
    ]
    assert rows[1].events == 2 and rows[1].cost == Decimal("1.5")


def test_empty_ledger(ledger: Ledger) -> None:
    (total,) = ledger.totals()
    assert total.key == () and total.events == 0 and total.cost == 0 and total.total_tokens == 0
    assert ledger.totals(group_by=["model"]) == []
    assert ledger.totals(EventQuery(where={"project": "nope"})) == [total]


def test_bad_keys_raise_value_error_naming_them(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="'weekday'"):
        ledger.totals(group_by=["project", "weekday"])
    with pytest.raises(ValueError, match="'tag:'"):
        ledger.totals(group_by=["tag:"])
    with pytest.raises(ValueError, match="'hour'"):
        EventQuery(where={"hour": "2026-11-23T14"})
    with pytest.raises(ValidationError, match="start"):
        EventQuery(start=datetime(2026, 1, 1))


def test_time_range_is_half_open(ledger: Ledger, make_event: MakeEvent) -> None:
    start, end = T0, T0 + timedelta(hours=1)
    one_us = timedelta(microseconds=1)
    at = {"before": start - one_us, "start": start, "inside": end - one_us, "end": end}
    ledger.append_many(make_event(id=name, occurred_at=when) for name, when in at.items())
    query = EventQuery(start=start, end=end)
    assert [e.id for e in ledger.events(query)] == ["start", "inside"]
    assert ledger.totals(query)[0].events == 2
    assert ledger.totals(EventQuery(start=start))[0].events == 3
    assert ledger.totals(EventQuery(end=start))[0].events == 1
    berlin = timezone(timedelta(hours=1))
    assert (
        ledger.totals(EventQuery(start=start.astimezone(berlin), end=end.astimezone(berlin)))[0].events == 2
    )


def test_filters(ledger: Ledger, make_event: MakeEvent) -> None:
    ledger.append_many(
        [
            make_event(cost="1", project="a", user="ann", tags={"team": "red"}),
            make_event(cost="2", project="a", user="bob", tags={"team": "blue"}),
            make_event(cost="4", project="b", tags={"env": "prod"}),
            make_event(cost="8", project=None, model="other", cost_source=CostSource.ESTIMATED),
        ]
    )

    def cost(**where: str | None) -> Decimal:
        return ledger.totals(EventQuery(where=where))[0].cost

    assert cost(project="a") == 3
    assert cost(project=None) == 8
    assert cost(user="bob") == 2
    assert ledger.totals(EventQuery(where={"tag:team": "red"}))[0].cost == 1
    assert ledger.totals(EventQuery(where={"tag:team": None}))[0].cost == 12
    assert ledger.totals(EventQuery(where={"project": "a", "tag:team": "blue"}))[0].cost == 2
    assert cost(model="other", cost_source="estimated") == 8
    assert cost(status="error") == 0
    rows = ledger.totals(EventQuery(where={"project": "a"}), group_by=["tag:team"])
    assert [(r.key, r.cost) for r in rows] == [(("blue",), 2), (("red",), 1)]
