"""Top, trends and analyze, asked of the views directly: figures from the events, JSON as the commands
print it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from costwarden.reports.periods import local_midnight
from costwarden.views.analyze import ANALYZE_SCHEMA, AnalyzeQuery, analyze
from costwarden.views.errors import QueryError
from costwarden.views.periods import PeriodFlags
from costwarden.views.top import TOP_SCHEMA, TopQuery, top
from costwarden.views.trends import TRENDS_SCHEMA, TrendsQuery, trends
from reports.history import oracle

from .conftest import BERLIN, World, printed

MONTH = (local_midnight(date(2026, 11, 1), BERLIN), local_midnight(date(2026, 12, 1), BERLIN))


def test_top_projects_rank_the_month(capsys: pytest.CaptureFixture[str], world: World) -> None:
    result = top(world.warden, TopQuery(kind="projects", limit=2))
    expected = [r for r in oracle(world.truth, ("project",), BERLIN, *MONTH) if r.key[0] is not None][:2]
    assert [(r.key, r.cost) for r in result.rows] == [(r.key, r.cost) for r in expected]
    assert result.projects == {}  # projects carry no project of their own
    whole = oracle(world.truth, (), BERLIN, *MONTH)[0].cost
    assert result.share(result.rows[0]) == (expected[0].cost * 100 / whole).quantize(Decimal("0.1"))
    data = result.to_json()
    assert data["schema"] == TOP_SCHEMA == result.SCHEMA == "costwarden.top/1"
    assert printed(data) == world.cli(capsys, "top", "--projects", "--limit", "2", "--json")


def test_top_sessions_carry_their_project(capsys: pytest.CaptureFixture[str], world: World) -> None:
    result = top(world.warden, TopQuery(period=PeriodFlags(last_30_days=True), where={"agent": "builder"}))
    assert result.rows and all(str(r.key[0]) in result.projects for r in result.rows)
    assert printed(result.to_json()) == world.cli(
        capsys, "top", "--last-30-days", "--where", "agent=builder", "--json"
    )
    bare = top(world.warden, TopQuery(kind="sessions", projects=False))
    assert bare.projects == {} and bare.to_csv() == world.cli(capsys, "top", "--format", "csv")
    with pytest.raises(QueryError, match="cannot rank 'teams'"):
        top(world.warden, TopQuery(kind="teams"))


def test_trends_cover_every_day(capsys: pytest.CaptureFixture[str], world: World) -> None:
    result = trends(world.warden, TrendsQuery())
    assert len(result.rows) == 30 and result.rows[-1].key == ("2026-11-23",)
    period = result.period
    assert result.total == oracle(world.truth, (), BERLIN, period.start, period.end)[0].cost
    assert result.average == result.total / 30
    data = result.to_json()
    assert data["schema"] == TRENDS_SCHEMA == result.SCHEMA == "costwarden.trends/1"
    assert printed(data) == world.cli(capsys, "trends", "--json")
    months = trends(world.warden, TrendsQuery(interval="month", period=PeriodFlags(start="2026-08-01")))
    assert [r.key[0] for r in months.rows] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert months.to_csv() == world.cli(
        capsys, "trends", "--interval", "month", "--from", "2026-08-01", "--format", "csv"
    )
    with pytest.raises(QueryError) as caught:
        trends(world.warden, TrendsQuery(interval="fortnight"))
    assert caught.value.option == "--interval"


def test_analyze_patterns(capsys: pytest.CaptureFixture[str], world: World) -> None:
    every = analyze(world.warden, AnalyzeQuery())
    assert every.hours is not None and len(every.hours) == 24
    assert every.days is not None and len(every.days) == 7 and every.days[0].key == ("Mon",)
    assert every.models is not None
    assert sum((r.cost for r in every.hours), start=Decimal(0)) == every.totals.cost
    data = every.to_json()
    assert data["schema"] == ANALYZE_SCHEMA == every.SCHEMA == "costwarden.analyze/1"
    assert printed(data) == world.cli(capsys, "analyze", "--json")
    models = analyze(world.warden, AnalyzeQuery(by_model=True, where={"provider": "openai"}))
    assert models.hours is None and models.days is None and models.models is not None
    assert {r.key[0] for r in models.models} == {"openai"}
    assert set(models.to_json()) == {"schema", "period", "totals", "by_model", "basis"}
    assert printed(models.to_json()) == world.cli(
        capsys, "analyze", "--by-model", "--where", "provider=openai", "--json"
    )
