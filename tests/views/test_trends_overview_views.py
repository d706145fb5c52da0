"""Cost over time stacked by a field, hourly rows, and the overview (today, this week, this month against
their budgets), asked of the views directly and checked against sums of the events one by one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costwarden.reports.formats import money
from costwarden.reports.periods import named_period
from costwarden.views.budget_status import budget_status_view
from costwarden.views.errors import QueryError
from costwarden.views.overview import OverviewQuery, overview, state_of
from costwarden.views.periods import PeriodFlags
from costwarden.views.trends import TrendsQuery, trends
from reports.history import NOW, oracle
from views.conftest import BERLIN, World


def test_daily_rows_stacked_by_project_are_the_events_sums(world: World) -> None:
    result = trends(world.warden, TrendsQuery(stack="project"))
    period = result.period
    truth = oracle(world.truth, ("day", "project"), BERLIN, period.start, period.end)
    assert [(r.key, r.cost, r.events) for r in result.stacks] == [(r.key, r.cost, r.events) for r in truth]
    by_day: dict[str | None, Decimal] = {}
    for row in result.stacks:
        by_day[row.key[0]] = by_day.get(row.key[0], Decimal(0)) + row.cost
    assert {r.key[0]: r.cost for r in result.rows if r.cost} == by_day
    data = result.to_json()
    assert data["stack"] == "project" and len(data["stacks"]) == len(result.stacks)
    assert result.to_csv().splitlines()[0].startswith("day,project,")
    assert "stacks" not in trends(world.warden, TrendsQuery()).to_json()


def test_hourly_rows_for_a_day(world: World) -> None:
    result = trends(world.warden, TrendsQuery(interval="hour", period=PeriodFlags(today=True), stack="model"))
    today = named_period("today", NOW, BERLIN)
    assert len(result.rows) == 24 and result.rows[0].key == (
        today.start.astimezone(BERLIN).strftime("%Y-%m-%dT%H"),
    )
    truth = oracle(world.truth, ("hour",), BERLIN, today.start, today.end)
    assert {r.key: r.cost for r in result.rows if r.events} == {r.key: r.cost for r in truth}
    assert result.total == oracle(world.truth, (), BERLIN, today.start, today.end)[0].cost
    stacked = oracle(world.truth, ("hour", "model"), BERLIN, today.start, today.end)
    assert [(r.key, r.cost) for r in result.stacks] == [(r.key, r.cost) for r in stacked]


@pytest.mark.parametrize(
    ("query", "option"),
    [
        (TrendsQuery(stack="colour"), "--stack"),
        (TrendsQuery(interval="week", stack="project"), "--stack"),
        (TrendsQuery(interval="hour"), "--interval"),  # the last 30 days: too long for hours
    ],
)
def test_bad_questions_name_their_option(world: World, query: TrendsQuery, option: str) -> None:
    with pytest.raises(QueryError) as caught:
        trends(world.warden, query)
    assert caught.value.option == option


def test_overview_cards(world: World) -> None:
    result = overview(world.warden, OverviewQuery())
    assert [c.name for c in result.cards] == ["today", "this-week", "this-month"]
    for card in result.cards:
        period = named_period(card.name, NOW, BERLIN)
        truth = oracle(world.truth, (), BERLIN, period.start, period.end)[0]
        assert (card.totals.cost, card.totals.events) == (truth.cost, truth.events)
        assert card.projection.projected >= card.totals.cost
    today, week, month = result.cards
    assert today.budget is not None and today.budget.status.policy.id == "daily"
    assert week.budget is None and week.state == "none"
    assert month.budget is not None and month.budget.status.policy.id == "monthly"
    rows = budget_status_view(world.warden).rows
    tight = max(rows, key=lambda r: (r.status.state == "exhausted", r.status.percent))
    assert result.tightest is not None
    assert (result.tightest.name, result.tightest.scope, result.tightest.percent) == (
        tight.status.policy.id,
        tight.status.scope,
        tight.status.percent,
    )
    data = result.to_json()
    assert data["schema"] == "costwarden.overview/1"
    assert data["cards"][0]["cost"] == money(today.totals.cost)
    assert data["cards"][0]["budget"]["percent"] == str(today.percent)
    csv_rows = result.to_csv().splitlines()
    assert csv_rows[0].startswith("period,start,end,events,cost") and len(csv_rows) == 4


def test_overview_of_one_project_uses_its_budget(world: World) -> None:
    result = overview(world.warden, OverviewQuery(where={"project": "frontend"}))
    month = result.card("this-month")
    assert month.budget is not None and month.budget.status.scope == "project=frontend"
    assert result.card("today").budget is None  # no daily budget of one project
    period = named_period("this-month", NOW, BERLIN)
    truth = oracle(world.truth, (), BERLIN, period.start, period.end, where={"project": "frontend"})[0]
    assert month.totals.cost == truth.cost
    hidden = overview(world.warden, OverviewQuery(scopes=("project=data",), quotas=False))
    assert hidden.card("this-month").budget is None
    assert hidden.tightest is not None and hidden.tightest.scope == "project=data"


def test_state_thresholds() -> None:
    assert state_of(None) == "none"
    assert state_of(Decimal("100")) == "red"
    assert state_of(Decimal("80")) == "amber"
    assert state_of(Decimal("10"), projected_over=True) == "amber"
    assert state_of(Decimal("79.9")) == "green"


def test_ranking_the_values_of_a_tag(world: World) -> None:
    from costwarden.views.top import TopQuery, top

    result = top(world.warden, TopQuery(kind="tag:team", limit=10, period=PeriodFlags(last_30_days=True)))
    period = result.period
    truth = [r for r in oracle(world.truth, ("tag:team",), BERLIN, period.start, period.end) if r.key[0]]
    assert [(r.key, r.cost) for r in result.rows] == [(r.key, r.cost) for r in truth]
    assert result.to_json()["rows"][0]["key"] == {"tag:team": truth[0].key[0]}
    with pytest.raises(QueryError):
        top(world.warden, TopQuery(kind="tag:"))
