"""Forecast, budget status, the live status of `watch`, insights and alerts, asked of the views directly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costwarden.reports.forecast import Outlook
from costwarden.reports.live import statusline
from costwarden.views.alerts import AlertsQuery, alerts_view
from costwarden.views.budget_status import budget_status_view
from costwarden.views.errors import QueryError
from costwarden.views.forecast import FORECAST_SCHEMA, ForecastQuery, forecast
from costwarden.views.insights import INSIGHTS_SCHEMA, InsightsQuery, change_dismissals, insights_view
from costwarden.views.live import WATCH_SCHEMA, LiveQuery, live_view
from reports.history import NOW

from .conftest import World, printed


def test_forecast_projects_the_month_and_the_budgets(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    result = forecast(world.warden, ForecastQuery(next_month=True))
    assert result.now == NOW and result.projection.window_days == Decimal(7)
    assert {b.state.policy.id for b in result.budgets} == {"monthly", "per-project", "daily"}
    assert result.next_month is not None and result.next_month.days == Decimal(31)
    data = result.to_json()
    assert data["schema"] == FORECAST_SCHEMA == result.SCHEMA == "costwarden.forecast/2"
    assert printed(data) == world.cli(capsys, "forecast", "--json", "--next-month")
    filtered = forecast(world.warden, ForecastQuery(window_days=14, where={"project": "data"}))
    assert filtered.filtered and filtered.budgets == [] and filtered.next_month is None
    assert filtered.projection.spent < result.projection.spent
    assert printed(filtered.to_json()) == world.cli(
        capsys, "forecast", "--json", "--window-days", "14", "--where", "project=data"
    )
    with pytest.raises(QueryError) as caught:
        forecast(world.warden, ForecastQuery(window_days=0))
    assert caught.value.option == "--window-days"


def test_budget_status_reads_the_counters(capsys: pytest.CaptureFixture[str], world: World) -> None:
    result = budget_status_view(world.warden)
    assert result.at == NOW
    ids = {row.status.policy.id for row in result.rows}
    assert ids == {"monthly", "per-project", "daily"}
    monthly = next(row for row in result.rows if row.status.policy.id == "monthly")
    assert monthly.projection is not None and monthly.projection.outlook in tuple(Outlook)
    assert json.dumps(result.to_json(), indent=2) + "\n" == world.cli(capsys, "budget", "status", "--json")
    earlier = budget_status_view(world.warden, datetime(2026, 11, 2, 12, tzinfo=UTC))
    assert earlier.at == datetime(2026, 11, 2, 12, tzinfo=UTC)


def test_live_status_of_today_and_of_a_session(capsys: pytest.CaptureFixture[str], world: World) -> None:
    today = live_view(world.warden, LiveQuery())
    assert today.status.label == "Today" and today.status.at == NOW
    data = today.to_json()
    assert data["schema"] == WATCH_SCHEMA == today.SCHEMA == "costwarden.watch/2"
    assert data["statusline"] == statusline(today.status) == today.statusline
    assert printed(data) == world.cli(capsys, "watch", "--json")
    session = next(e.attribution.session for e in world.truth if e.attribution.session)
    one = live_view(world.warden, LiveQuery(session=session))
    assert one.status.scope == ("session", session) and one.to_json()["scope"] == {"session": session}
    assert one.statusline + "\n" == world.cli(capsys, "watch", "--session", session, "--statusline")
    with pytest.raises(QueryError, match="not both"):
        live_view(world.warden, LiveQuery(session=session, run="r"))


def test_insights_and_their_dismissal(capsys: pytest.CaptureFixture[str], world: World) -> None:
    for i in range(20):  # a flaky agent: 6 of 20 calls fail after using input
        world.warden.record(
            provider="openai",
            model="gpt-5",
            id=f"flaky-{i}",
            agent="flaky",
            occurred_at=NOW - timedelta(hours=9 * i + 1),
            input_tokens=2_000,
            output_tokens=1_500 if i % 10 >= 3 else 0,
            status="error" if i % 10 < 3 else "ok",
        )
    result = insights_view(world.warden, InsightsQuery())
    data = result.to_json()
    assert data["schema"] == INSIGHTS_SCHEMA == result.SCHEMA == "costwarden.insights/1"
    assert printed(data) == world.cli(capsys, "insights", "--json")
    assert result.found, "the history holds savings to suggest"
    first = result.found[0].id
    with pytest.raises(QueryError) as caught:
        change_dismissals(world.warden, result, dismiss=[first, "no-such-insight"])
    assert caught.value.option == "--dismiss"
    assert insights_view(world.warden, InsightsQuery()).dismissed == 0  # nothing half-done
    changes = change_dismissals(world.warden, result, dismiss=[first, first])
    assert [(c.insight_id, c.dismissed, c.changed) for c in changes] == [
        (first, True, True),
        (first, True, False),
    ]
    after = insights_view(world.warden, InsightsQuery())
    assert after.dismissed == 1 and first not in {i.id for i in after.shown}
    assert first in {i.id for i in insights_view(world.warden, InsightsQuery(show_all=True)).shown}
    assert printed(after.to_json()) == world.cli(capsys, "insights", "--json")
    back = change_dismissals(world.warden, after, restore=[first])
    assert [(c.dismissed, c.changed) for c in back] == [(False, True)]


def test_alerts_feed_and_its_errors(capsys: pytest.CaptureFixture[str], world: World) -> None:
    result = alerts_view(world.warden, AlertsQuery())
    assert json.dumps(result.to_json(), indent=2) + "\n" == world.cli(capsys, "alerts", "--json")
    assert alerts_view(world.warden, AlertsQuery(budget="monthly", kinds=("block",))).alerts == []
    with pytest.raises(QueryError) as caught:
        alerts_view(world.warden, AlertsQuery(kinds=("loud",)))
    assert caught.value.option == "--kind"
    with pytest.raises(QueryError) as caught:
        alerts_view(world.warden, AlertsQuery(budget="no-such-budget"))
    assert caught.value.option == "--budget"
