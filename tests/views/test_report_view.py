"""The summary report and the session detail, asked of the views directly."""

from __future__ import annotations

from datetime import date

import pytest

from costwarden.reports.formats import money
from costwarden.reports.periods import local_midnight
from costwarden.storage.ledger import Totals
from costwarden.views.errors import QueryError
from costwarden.views.periods import PeriodFlags
from costwarden.views.report import REPORT_SCHEMA, ReportQuery, summary_report
from costwarden.views.session import SESSION_SCHEMA, SessionQuery, SessionUnavailable, session_view
from reports.history import NOW, oracle

from .conftest import BERLIN, World, printed

MONTH = (local_midnight(date(2026, 11, 1), BERLIN), local_midnight(date(2026, 12, 1), BERLIN))


def test_the_month_report_matches_the_events_and_the_command(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    result = summary_report(world.warden, ReportQuery())
    truth = oracle(world.truth, (), BERLIN, *MONTH)[0]
    assert result.report.totals.cost == truth.cost and result.report.totals.events == truth.events
    assert result.report.period.label == "November 2026"
    assert {b.id for b in result.report.budgets} >= {"monthly", "daily"}
    data = result.to_json()
    assert data["schema"] == REPORT_SCHEMA == result.SCHEMA == "costwarden.report/2"
    assert printed(data) == world.cli(capsys, "report", "--json")


def test_grouping_filters_and_csv(capsys: pytest.CaptureFixture[str], world: World) -> None:
    query = ReportQuery(group_by=("project", "model"), where={"agent": "builder"}, budgets=True)
    result = summary_report(world.warden, query)
    expected = oracle(world.truth, ("project", "model"), BERLIN, *MONTH, where={"agent": "builder"})
    assert [(r.key, r.cost) for r in result.report.groups] == [(r.key, r.cost) for r in expected]
    assert result.report.budgets == []  # a filtered report is not compared with the budgets
    assert printed(result.to_json()) == world.cli(
        capsys, "report", "--json", "--by", "project", "--by", "model", "--where", "agent=builder"
    )
    flat = summary_report(world.warden, ReportQuery(budgets=False, breakdown=True))
    assert flat.to_csv() == world.cli(capsys, "report", "--format", "csv")
    assert flat.to_csv().splitlines()[0].startswith("project,provider,model,events,")


def test_detailed_sections_only_when_asked(world: World) -> None:
    plain = summary_report(world.warden, ReportQuery())
    assert plain.by_agent == [] and plain.by_provider == [] and plain.breakdown == []
    detailed = summary_report(world.warden, ReportQuery(detailed=True))
    by_agent = oracle(world.truth, ("agent",), BERLIN, *MONTH)
    assert [(r.key, r.cost) for r in detailed.by_agent] == [(r.key, r.cost) for r in by_agent]
    assert sum((r.cost for r in detailed.by_provider), start=plain.report.totals.cost * 0) == (
        plain.report.totals.cost
    )


def test_an_unknown_grouping_names_the_by_option(world: World) -> None:
    with pytest.raises(QueryError) as caught:
        summary_report(world.warden, ReportQuery(group_by=("colour",)))
    assert caught.value.option == "--by"
    with pytest.raises(QueryError) as caught:
        summary_report(world.warden, ReportQuery(period=PeriodFlags(today=True, yesterday=True)))
    assert caught.value.option is None and "choose one period" in caught.value.message


def test_a_session_in_detail(capsys: pytest.CaptureFixture[str], world: World) -> None:
    session = next(e.attribution.session for e in world.truth if e.attribution.session)
    result = session_view(world.warden, SessionQuery(session))
    mine = [e for e in world.truth if e.attribution.session == session]
    assert result.detail.totals.events == len(mine)
    assert result.detail.totals.cost == sum((e.cost_total for e in mine), start=result.detail.totals.cost * 0)
    data = result.to_json()
    assert data["schema"] == SESSION_SCHEMA == result.SCHEMA == "costwarden.session/1"
    assert len(data["calls"]) == len(mine)
    assert printed(data) == world.cli(capsys, "report", "--session", session, "--json")
    midnight = local_midnight(NOW.astimezone(BERLIN).date(), BERLIN)
    calls_today = sum(1 for e in mine if e.occurred_at >= midnight)
    assert calls_today
    today = session_view(world.warden, SessionQuery(session, PeriodFlags(today=True)))
    assert today.detail.totals.events == calls_today


def test_an_unknown_session_is_unavailable(world: World) -> None:
    with pytest.raises(SessionUnavailable) as caught:
        session_view(world.warden, SessionQuery("no-such-session"))
    assert not caught.value.summarized and caught.value.kept.events == 0
    assert isinstance(caught.value.kept, Totals) and money(caught.value.kept.cost) == "0.00"
