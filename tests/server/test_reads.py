"""The read API answers what the CLI answers (same views, same JSON schemas, same CSV), on SQLite and
PostgreSQL, over real HTTP; usage comes in cursor pages; bad parameters are named."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from costwarden.core.usage import UsageEvent
from costwarden.reports.export import event_to_json
from server.conftest import World


def _get(world: World, path: str, **params: Any) -> Any:
    response = world.server.client().get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _without_clock(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "generated_at"}


@pytest.mark.parametrize(
    ("path", "params", "args"),
    [
        ("/api/v1/usage/summary", {}, ["report", "--json"]),
        ("/api/v1/usage/summary", {"period": "last-30-days"}, ["report", "--last-30-days", "--json"]),
        (
            "/api/v1/usage/summary",
            {"project": "frontend", "group_by": ["agent", "model"]},
            ["report", "--where", "project=frontend", "--by", "agent", "--by", "model", "--json"],
        ),
        (
            "/api/v1/usage/summary",
            {"start": "2026-11-01", "end": "2026-11-15"},
            ["report", "--from", "2026-11-01", "--to", "2026-11-15", "--json"],
        ),
        ("/api/v1/usage/by-agent", {"period": "month"}, ["top", "--agents", "--limit", "100", "--json"]),
        ("/api/v1/usage/by-project", {}, ["top", "--projects", "--limit", "100", "--json"]),
        (
            "/api/v1/usage/by-model",
            {"period": "week"},
            ["top", "--models", "--this-week", "--limit", "100", "--json"],
        ),
        (
            "/api/v1/usage/top",
            {"kind": "sessions", "limit": 3},
            ["top", "--sessions", "--limit", "3", "--json"],
        ),
        (
            "/api/v1/usage/daily",
            {"start": "2026-11-01", "end": "2026-11-23"},
            ["trends", "--from", "2026-11-01", "--to", "2026-11-23", "--json"],
        ),
        ("/api/v1/usage/trends", {"interval": "week"}, ["trends", "--interval", "week", "--json"]),
        ("/api/v1/usage/analyze", {}, ["analyze", "--json"]),
        ("/api/v1/forecast", {}, ["forecast", "--json"]),
        ("/api/v1/insights", {}, ["insights", "--json"]),
        ("/api/v1/limits", {}, ["budget", "list", "--json"]),
        ("/api/v1/limits/status", {}, ["budget", "status", "--json"]),
        ("/api/v1/alerts", {}, ["alerts", "--json"]),
    ],
)
def test_the_api_answers_what_the_cli_answers(
    world: World, capsys: pytest.CaptureFixture[str], path: str, params: dict[str, Any], args: list[str]
) -> None:
    api = _get(world, path, **params)
    cli = world.cli(capsys, *args)
    if isinstance(api, dict):
        assert _without_clock(api) == _without_clock(cli)
    else:
        assert api == cli


def test_alerts_are_there_to_compare(world: World) -> None:
    world.warden.budgets  # noqa: B018 - the engine derives its counters
    world.warden.record(provider="openai", model="gpt-4o", input_tokens=10**6, project="frontend")
    assert _get(world, "/api/v1/alerts")
    assert [a["kind"] for a in _get(world, "/api/v1/alerts", kind="threshold")] != []


def test_csv_is_the_clis(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    client = world.server.client()
    response = client.get("/api/v1/usage/summary", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text == world.cli_text(capsys, "report", "--format", "csv")
    response = client.get("/api/v1/usage/by-agent", params={"format": "csv"})
    assert response.text == world.cli_text(capsys, "top", "--agents", "--limit", "100", "--format", "csv")


def test_session_detail(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    session = next(e.attribution.session for e in world.truth if e.attribution.session)
    assert session is not None
    api = _get(world, f"/api/v1/sessions/{session}")
    assert api == world.cli(capsys, "report", "--session", session, "--json")
    missing = world.server.client().get("/api/v1/sessions/no-such-session")
    assert missing.status_code == 404
    assert missing.json()["error"]["parameter"] == "session_id"


def _pages(world: World, limit: int, **params: Any) -> list[dict[str, Any]]:
    client = world.server.client()
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/usage", params=query).json()
        assert page["schema"] == "costwarden.usage/1"
        assert page["count"] == len(page["events"]) <= limit
        seen += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def _ordered(events: list[UsageEvent]) -> list[dict[str, Any]]:
    return [event_to_json(e) for e in sorted(events, key=lambda e: (e.occurred_at, e.id))]


def test_usage_pages_cover_every_event_once_in_ledger_order(world: World) -> None:
    got = _pages(world, 37, period="all")
    assert got == _ordered(world.truth)
    web = _pages(world, 50, project="frontend", start="2026-10-01")
    assert [e["id"] for e in web] == [
        e["id"]
        for e in _ordered([e for e in world.truth if e.attribution.project == "frontend"])
        if e["occurred_at"] >= "2026-09-30T22:00:00Z"
    ]


def test_pages_hold_when_events_share_a_time_and_others_append_meanwhile(world: World) -> None:
    at = world.truth[-1].occurred_at
    same = [
        UsageEvent.create(
            id=f"same-{i:03d}", provider="openai", model="gpt-4o", input_tokens=i, occurred_at=at
        )
        for i in range(30)
    ]
    world.warden.record_many(same)
    client = world.server.client()
    first = client.get("/api/v1/usage", params={"limit": 7, "period": "all", "model": "gpt-4o"}).json()
    world.warden.record(
        id="later",
        provider="openai",
        model="gpt-4o",
        occurred_at=at.replace(year=2026, month=11, day=23, hour=13),
    )
    rest = _pages(world, 7, period="all", model="gpt-4o", cursor=first["next_cursor"])
    ids = [e["id"] for e in first["events"] + rest]
    assert len(ids) == len(set(ids))
    expected = [e["id"] for e in _pages(world, 1000, period="all", model="gpt-4o")]
    assert ids == expected
    assert {f"same-{i:03d}" for i in range(30)} <= set(ids)


def test_usage_as_csv_with_the_next_cursor_in_a_header(world: World) -> None:
    response = world.server.client().get(
        "/api/v1/usage", params={"limit": 5, "period": "all", "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5
    assert response.headers["x-next-cursor"]
    assert rows[0]["id"] == _ordered(world.truth)[0]["id"]


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/v1/usage/summary", {"period": "decade"}, "period"),
        ("/api/v1/usage/summary", {"period": "month", "start": "2026-11-01"}, "period"),
        ("/api/v1/usage/summary", {"start": "yesterday-ish"}, "start"),
        ("/api/v1/usage/summary", {"start": "2026-11-10", "end": "2026-11-01"}, "end"),
        ("/api/v1/usage/summary", {"group_by": "color"}, "group_by"),
        ("/api/v1/usage/summary", {"where": "color=red"}, "where"),
        ("/api/v1/usage/summary", {"tag": "novalue"}, "tag"),
        ("/api/v1/usage/summary", {"period": "all"}, "period"),
        ("/api/v1/usage/top", {"kind": "colors"}, None),
        ("/api/v1/usage/trends", {"interval": "fortnight"}, "interval"),
        ("/api/v1/usage", {"cursor": "not-a-cursor!"}, "cursor"),
        ("/api/v1/alerts", {"kind": "meteor"}, "kind"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    world: World, path: str, params: dict[str, Any], parameter: str | None
) -> None:
    response = world.server.client().get(path, params=params)
    assert response.status_code in (400, 422), response.text
    if response.status_code == 400:
        error = response.json()["error"]
        assert error["parameter"] == parameter, error
        assert error["message"]
