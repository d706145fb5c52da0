"""Quota pollers against local fakes of the documented response shapes (OpenRouter's key endpoint,
Anthropic's cost report, OpenAI's organization costs and completions usage), your own URL and command;
caching by TTL, backoff on errors, stale values marked stale, and `costwarden quota poll`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.errors import ConfigError
from costwarden.ledger import MemoryLedger
from costwarden.quotas import pollers
from costwarden.quotas.pollers import PollerConfig, PollError, parse_poller_json, poll_all
from costwarden.testing.fake_json_api import FakeJsonApi
from costwarden.warden import Warden

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
ENV = {"OR_KEY": "sk-or-test", "ANT_KEY": "sk-ant-admin-test", "OAI_KEY": "sk-admin-test"}
OPENROUTER = {
    "data": {
        "label": "sk-or-v1-116...0ce",
        "limit": 25,
        "usage": 7.5,
        "limit_remaining": 17.5,
        "limit_reset": "monthly",
        "usage_daily": 0.25,
        "usage_weekly": 2,
        "usage_monthly": 7.5,
        "is_free_tier": False,
        "rate_limit": {"requests": 50, "interval": "10s"},
    }
}


@pytest.fixture(autouse=True)
def _no_backoff_between_tests() -> Iterator[None]:
    pollers._failures.clear()
    yield
    pollers._failures.clear()


def poller(**fields: Any) -> PollerConfig:
    return PollerConfig.model_validate(fields)


def test_openrouter_key_endpoint() -> None:
    with FakeJsonApi({"/api/v1/key": OPENROUTER}) as api, Warden(ledger=MemoryLedger()) as warden:
        config = poller(kind="openrouter", api_key_env="OR_KEY", base_url=api.url("/api/v1"))
        (result,) = poll_all(warden.quotas, [config], now=NOW, environ=ENV)
        assert result.state == "fresh"
        assert api.requests[-1].headers["authorization"] == "Bearer sk-or-test"
        credits = {r.window: r for r in result.readings}["credits"]
        assert (credits.provider, credits.unit, credits.source) == ("openrouter", "usd", "poll:openrouter")
        assert (credits.limit, credits.used, credits.remaining) == (25 * 10**10, 75 * 10**9, 175 * 10**9)
        assert credits.reset_at == datetime(2027, 1, 1, tzinfo=UTC) and credits.used_fraction == 0.3
        daily = {r.window: r for r in result.readings}["usage-daily"]
        assert daily.used == 25 * 10**8


def test_anthropic_cost_report_in_cents_across_pages() -> None:
    first = {
        "data": [
            {
                "starting_at": "2026-12-01T00:00:00Z",
                "ending_at": "2026-12-02T00:00:00Z",
                "results": [
                    {"currency": "USD", "amount": "12345.6", "workspace_id": None, "description": None},
                    {
                        "currency": "USD",
                        "amount": "54.4",
                        "cost_type": "tokens",
                        "model": "claude-sonnet-4-5",
                    },
                ],
            }
        ],
        "has_more": True,
        "next_page": "page-2",
    }
    second = {
        "data": [
            {
                "starting_at": "2026-12-02T00:00:00Z",
                "ending_at": "2026-12-03T00:00:00Z",
                "results": [{"currency": "USD", "amount": "100"}],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    routes = {"/v1/organizations/cost_report": [first, second]}
    with FakeJsonApi(routes) as api, Warden(ledger=MemoryLedger()) as warden:
        config = poller(kind="anthropic-admin", api_key_env="ANT_KEY", base_url=api.url("/v1"))
        (result,) = poll_all(warden.quotas, [config], now=NOW, environ=ENV)
        (cost,) = result.readings
        assert cost.window == "cost-month" and cost.used == to_units("125.00")
        first_request, second_request = api.requests
        assert first_request.headers["x-api-key"] == "sk-ant-admin-test"
        assert first_request.headers["anthropic-version"] == "2023-06-01"
        assert first_request.query["starting_at"] == ["2026-12-01T00:00:00Z"]
        assert second_request.query["page"] == ["page-2"]


def to_units(text: str) -> int:
    return int(Decimal(text) * 10**10)


def test_openai_organization_costs_and_usage() -> None:
    costs = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": 1796083200,
                "end_time": 1796169600,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 0.06, "currency": "usd"},
                        "line_item": None,
                        "project_id": None,
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    usage = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": 1796083200,
                "end_time": 1796169600,
                "results": [
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": 1000,
                        "output_tokens": 500,
                        "input_cached_tokens": 200,
                        "num_model_requests": 7,
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    routes = {"/v1/organization/costs": costs, "/v1/organization/usage/completions": usage}
    with FakeJsonApi(routes) as api, Warden(ledger=MemoryLedger()) as warden:
        config = poller(kind="openai-admin", api_key_env="OAI_KEY", base_url=api.url("/v1"), account="team")
        (result,) = poll_all(warden.quotas, [config], now=NOW, environ=ENV)
        got = {r.window: r for r in result.readings}
        assert got["cost-month"].used == to_units("0.06") and got["tokens-month"].used == 1500
        assert got["requests-month"].used == 7 and got["requests-month"].account == "team"
        assert api.requests[0].query["start_time"] == [
            str(int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()))
        ]
        assert result.poller.source == "poll:openai-admin:team"


def test_cached_within_the_ttl_then_stale_with_backoff_after_an_error() -> None:
    clock = FixedClock(NOW)
    routes: dict[str, Any] = {"/api/v1/key": [OPENROUTER, (500, {"error": "down"})]}
    with FakeJsonApi(routes) as api, Warden(ledger=MemoryLedger(), clock=clock) as warden:
        config = poller(kind="openrouter", api_key_env="OR_KEY", base_url=api.url("/api/v1"), ttl="5m")
        assert poll_all(warden.quotas, [config], now=clock.now(), environ=ENV)[0].state == "fresh"
        clock.advance(60)
        (cached,) = poll_all(warden.quotas, [config], now=clock.now(), environ=ENV)
        assert cached.state == "cached" and cached.age_seconds == 60 and len(api.requests) == 1
        clock.advance(300)
        (stale,) = poll_all(warden.quotas, [config], now=clock.now(), environ=ENV)
        assert stale.state == "stale" and stale.error == f"HTTP 500 from {api.url('/api/v1/key')}"
        assert {r.window for r in stale.readings} >= {"credits"} and stale.age_seconds == 360
        (backing,) = poll_all(warden.quotas, [config], now=clock.now(), environ=ENV)
        assert backing.error == "backing off after errors" and len(api.requests) == 2  # not asked again
        (forced,) = poll_all(warden.quotas, [config], now=clock.now(), environ=ENV, force=True)
        assert forced.state == "stale" and len(api.requests) == 3


def test_a_missing_key_or_a_wrong_shape_fails_clearly() -> None:
    with (
        FakeJsonApi({"/api/v1/key": {"data": {"limit": "lots"}}}) as api,
        Warden(ledger=MemoryLedger()) as warden,
    ):
        config = poller(kind="openrouter", api_key_env="OR_KEY", base_url=api.url("/api/v1"))
        (missing,) = poll_all(warden.quotas, [config], now=NOW, environ={})
        assert (
            missing.state == "failed" and missing.error == "$OR_KEY is not set (the openrouter poller's key)"
        )
        pollers._failures.clear()
        (wrong,) = poll_all(warden.quotas, [config], now=NOW, environ=ENV)
        assert wrong.error == "data.limit: expected a number, got 'lots'"


def test_your_own_url_and_command(tmp_path: Path) -> None:
    body = {
        "windows": [
            {
                "name": "gpu-hours",
                "unit": "requests",
                "limit": 100,
                "used": 40,
                "reset_at": "2026-12-16T00:00:00Z",
            }
        ]
    }
    script = tmp_path / "quota.py"
    script.write_text(f"import json; print(json.dumps({body!r}))\n")
    with FakeJsonApi({"/quota": body}) as api, Warden(ledger=MemoryLedger()) as warden:
        url = poller(kind="http-json", provider="local-gpu", url=api.url("/quota"))
        command = poller(kind="command", provider="vendor-x", command=[sys.executable, str(script)])
        results = poll_all(warden.quotas, [url, command], now=NOW, environ=ENV)
        assert [r.state for r in results] == ["fresh", "fresh"]
        for result in results:
            (reading,) = result.readings
            assert (reading.limit, reading.used, reading.used_fraction) == (100, 40, 0.4)
            assert reading.reset_at == datetime(2026, 12, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "windows: expected a list"),
        ({"windows": [{"unit": "usd"}]}, "windows[0].name: expected a name"),
        (
            {"windows": [{"name": "x", "unit": "bananas"}]},
            "windows[0].unit: expected requests, tokens or usd",
        ),
        ({"windows": [{"name": "x", "used": -1}]}, "windows[0].used: -1 is out of range"),
        (
            {"windows": [{"name": "x", "reset_at": "tomorrow"}]},
            "windows[0].reset_at: expected an ISO-8601 time",
        ),
    ],
)
def test_poller_json_errors_name_the_field(body: Any, message: str) -> None:
    with pytest.raises(PollError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_poller_json(body)


def test_poller_config_errors_name_the_key() -> None:
    for item, key in (
        ({"kind": "http-json", "provider": "x"}, "quota_pollers[0]"),
        ({"kind": "openrouter"}, "quota_pollers[0]"),
        ({"kind": "command", "command": ["x"]}, "quota_pollers[0]"),
        ({"kind": "magic"}, "quota_pollers[0].kind"),
        ({"kind": "http-json", "provider": "x", "url": "ftp://x"}, "quota_pollers[0]"),
    ):
        with pytest.raises(ConfigError) as info:
            settings_from_mapping({"quota_pollers": [item]}, "c.yaml")
        assert info.value.key == key, item


def test_quota_poll_command(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OR_KEY", "sk-or-test")
    monkeypatch.setenv("COSTWARDEN_NOW", "2026-12-15T12:00:00Z")
    with FakeJsonApi({"/api/v1/key": [OPENROUTER, (503, {})]}) as api:
        config = tmp_path / "config.yaml"
        base = api.url("/api/v1")
        config.write_text(
            "subscriptions:\n  - {provider: openrouter, plan: openrouter-credits}\n"
            f"quota_pollers:\n  - {{kind: openrouter, api_key_env: OR_KEY, base_url: '{base}', ttl: 60}}\n"
        )
        args = ["--config", str(config), "--db", sqlite_url]
        assert main([*args, "quota", "poll", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["schema"] == "costwarden.quota_poll/1"
        (entry,) = data["pollers"]
        assert entry["state"] == "fresh" and {r["window"] for r in entry["readings"]} >= {"credits"}
        assert main([*args, "quota", "poll"]) == 0
        assert "openrouter (openrouter/default): cached" in capsys.readouterr().out
        assert main([*args, "quota", "report", "--json"]) == 0
        plan = json.loads(capsys.readouterr().out)["plans"][0]
        (credits,) = plan["windows"]
        assert (credits["used"], credits["limit"], credits["percent"], credits["source"]) == (
            "7.50",
            "25.00",
            "30.0",
            "reading",
        )
        assert main([*args, "quota", "poll", "--force"]) == 1  # the source failed: the last reading, stale
        out = capsys.readouterr().out
        assert "stale" in out and "HTTP 503" in out and "credits: used $7.50 of $25.00 ($17.50 left)" in out
        assert len(api.requests) == 2
