"""Seed 004 (a coding-assistant wrapper, `coi cost ...`): its commands as written, with `costwarden` in
place of `coi cost`, against a ledger whose figures are worked out by hand below.

November 2026 (now: the 20th, UTC), claude-sonnet-4-5 at $3 / $15 per million input / output tokens:
- project-a, session-abc: 100 calls of 100,000 in + 15,000 out = 100 x ($0.30 + $0.225) = $52.50
- project-a, session-ghi: 100 calls of 50,000 in + 10,000 out   = 100 x ($0.15 + $0.15)  = $30.00
- project-b, session-def: 100 calls of 100,000 in + 10,000 out  = 100 x ($0.30 + $0.15)  = $45.00
October: project-a, session-old: 50 calls of 50,000 in + 10,000 out = $15.00.
Total this month $127.50: project-a $82.50 (64.7 %), project-b $45.00 (35.3 %). A $200 monthly budget
leaves $72.50.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from costwarden.core.usage import UsageEvent
from costwarden.views.basis import DISCLAIMER
from seeds.walk import Walk, walk

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOTE = (
    "Note: Costs are estimated based on token usage. Actual charges may vary. Verify with your API provider."
)


def _calls(count: int, day: datetime, project: str, session: str, inp: int, out: int) -> list[UsageEvent]:
    return [
        UsageEvent.create(
            provider="anthropic",
            model="claude-sonnet-4-5",
            occurred_at=day.replace(minute=i % 60, second=i // 60),
            input_tokens=inp,
            output_tokens=out,
            project=project,
            session=session,
        )
        for i in range(count)
    ]


@pytest.fixture
def seed(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Walk:
    here = walk(tmp_path, NOW, capsys, monkeypatch)
    events = [
        *_calls(100, datetime(2026, 11, 5, 10, tzinfo=UTC), "project-a", "session-abc", 100_000, 15_000),
        *_calls(100, datetime(2026, 11, 12, 10, tzinfo=UTC), "project-a", "session-ghi", 50_000, 10_000),
        *_calls(100, datetime(2026, 11, 15, 10, tzinfo=UTC), "project-b", "session-def", 100_000, 10_000),
        *_calls(50, datetime(2026, 10, 25, 10, tzinfo=UTC), "project-a", "session-old", 50_000, 10_000),
    ]
    with here.warden() as warden:
        warden.record_many(events)
    return here


def test_cost_report_shows_totals_projects_budget_and_the_disclaimer(seed: Walk) -> None:
    assert seed.ok("budget", "set", "--monthly", "200.00").strip()
    out = seed.ok("report")
    assert "$127.50" in out
    assert "project-a" in out and "$82.50" in out and "64.7%" in out
    assert "project-b" in out and "$45.00" in out and "35.3%" in out
    assert "session-abc" in out and "$52.50" in out
    assert "$72.50" in out  # the monthly budget's remaining
    last = out.strip().splitlines()[-1]
    assert last.startswith("Basis: 300 of 300 calls computed from token usage")
    assert "verify against your provider's invoice" in last
    assert last.endswith(NOTE)
    assert f"Note: {DISCLAIMER}" == NOTE


def test_by_project_by_session_by_model_are_the_by_flags(seed: Walk) -> None:
    for alias, key in (("--by-project", "project"), ("--by-session", "session"), ("--by-model", "model")):
        spelled = seed.run("report", alias, "--format", "json").json()
        given = seed.run("report", "--by", key, "--format", "json").json()
        for data in (spelled, given):
            data.pop("generated_at")
        assert spelled == given
    groups = seed.run("report", "--by-project", "--json").json()["groups"]
    assert [(g["key"]["project"], g["cost"]) for g in groups] == [
        ("project-a", "82.50"),
        ("project-b", "45.00"),
    ]
    sessions = seed.run("report", "--by-session", "--json").json()["groups"]
    assert [(g["key"]["session"], g["cost"]) for g in sessions] == [
        ("session-abc", "52.50"),
        ("session-def", "45.00"),
        ("session-ghi", "30.00"),
    ]


def test_date_range_and_named_periods(seed: Walk) -> None:
    # `coi cost report --from 2024-02-01 --to 2024-02-28`, on this ledger's months
    october = seed.run("report", "--from", "2026-10-01", "--to", "2026-10-31", "--json").json()
    assert october["totals"]["cost"] == "15.00"
    for flag, cost in (
        ("--today", "0.00"),
        ("--yesterday", "0.00"),
        ("--this-week", "0.00"),
        ("--this-month", "127.50"),
        ("--last-30-days", "142.50"),
    ):
        assert seed.run("report", flag, "--json").json()["totals"]["cost"] == cost, flag


def test_output_formats_and_the_basis_fields(seed: Walk) -> None:
    data = seed.run("report", "--format", "json").json()
    assert data["basis"]["calls"] == 300
    assert data["basis"]["computed"] == 300
    assert (data["basis"]["provider_reported"], data["basis"]["estimated"], data["basis"]["unpriced"]) == (
        0,
        0,
        0,
    )
    assert data["basis"]["catalog"].startswith("genai-prices ")
    assert data["basis"]["catalog_date"] <= "2026-11-20"
    assert data["basis"]["disclaimer"] == DISCLAIMER
    assert data["basis"]["note"] == "verify against your provider's invoice"
    rows = list(csv.DictReader(io.StringIO(seed.ok("report", "--format", "csv"))))
    assert {(r["project"], r["model"], r["cost"]) for r in rows} == {
        ("project-a", "claude-sonnet-4-5", "82.50"),
        ("project-b", "claude-sonnet-4-5", "45.00"),
    }
    summary = seed.ok("report", "--format", "summary")
    assert "$127.50" in summary and summary.strip().endswith(NOTE)


def test_compare_projects(seed: Walk) -> None:
    out = seed.ok("compare", "project-a", "project-b")
    assert "project-a" in out and "$82.50" in out and "64.7%" in out
    assert "+$67.50 (+450.0%)" in out  # against October's $15.00
    assert "Before: October 2026." in out
    assert out.strip().endswith(NOTE)
    data = seed.run("compare", "project-a", "project-b", "--json").json()
    a, b = data["items"]
    assert (a["value"], a["cost"], a["share_percent"], a["events"], a["sessions"]) == (
        "project-a",
        "82.50",
        "64.7",
        200,
        2,
    )
    assert (a["total_tokens"], a["average_per_call"], a["average_per_session"]) == (
        17_500_000,
        "0.4125",
        "41.25",
    )
    assert a["previous"] == {"cost": "15.00", "total_tokens": 3_000_000, "events": 50, "sessions": 1}
    assert (a["change"], a["change_percent"]) == ("67.50", "450.0")
    assert (b["cost"], b["sessions"], b["average_per_session"], b["change"], b["change_percent"]) == (
        "45.00",
        1,
        "45.00",
        "45.00",
        None,
    )
    assert a["top_models"] == [
        {"provider": "anthropic", "model": "claude-sonnet-4-5", "cost": "82.50", "events": 200}
    ]
    assert data["previous_period"]["label"] == "October 2026"
    assert data["basis"]["calls"] == 300
    rows = list(csv.DictReader(io.StringIO(seed.ok("compare", "project-a", "project-b", "--format", "csv"))))
    assert [(r["project"], r["cost"], r["previous_cost"], r["change"]) for r in rows] == [
        ("project-a", "82.50", "15.00", "67.50"),
        ("project-b", "45.00", "0.00", "45.00"),
    ]
    last_month = seed.run(
        "compare", "project-a", "project-b", "--from", "2026-10-01", "--to", "2026-10-31", "--json"
    )
    assert [i["cost"] for i in last_month.json()["items"]] == ["15.00", "0.00"]


def test_compare_refuses_what_it_cannot_answer(seed: Walk) -> None:
    one = seed.run("compare", "project-a")
    assert one.code == 2 and "at least two" in one.err
    twice = seed.run("compare", "project-a", "project-a")
    assert twice.code == 2 and "named twice" in twice.err
    colour = seed.run("compare", "a", "b", "--by", "colour")
    assert colour.code == 2 and "--by" in colour.err


def test_top_and_trends(seed: Walk) -> None:
    out = seed.ok("top", "--limit", "10")
    assert "session-abc" in out and out.strip().endswith(NOTE)
    top = seed.run("top", "--sessions", "--limit", "10", "--json").json()
    assert [(r["key"]["session"], r["cost"]) for r in top["rows"]] == [
        ("session-abc", "52.50"),
        ("session-def", "45.00"),
        ("session-ghi", "30.00"),
    ]
    assert top["basis"]["calls"] == 300
    trends = seed.ok("trends", "--last-30-days")
    assert trends.strip().endswith(NOTE)
    assert seed.run("trends", "--last-30-days", "--json").json()["total_cost"] == "142.50"


def test_budget_commands(seed: Walk) -> None:
    seed.ok("budget", "set", "--daily", "10.00")
    seed.ok("budget", "set", "--monthly", "200.00")
    seed.ok("budget", "set", "--project", "backend-api", "--monthly", "50.00")
    listed = seed.run("budget", "list", "--json").json()
    assert {b["id"] for b in listed} == {"daily", "monthly", "project-backend-api-monthly"}
    status = {r["id"]: r for r in seed.run("budget", "status", "--json").json()}
    assert status["monthly"]["spent"] == "127.50" and status["monthly"]["remaining"] == "72.50"
    assert status["daily"]["spent"] == "0.00"
    seed.ok("budget", "remove", "daily")
    assert {b["id"] for b in seed.run("budget", "list", "--json").json()} == {
        "monthly",
        "project-backend-api-monthly",
    }


# The seed's `~/.config/coi/config.toml`, as written.
SEED_TOML = """\
# ~/.config/coi/config.toml
[cost]
enabled = true
database = "~/.coi/costs.db"
[cost.budget]
daily = 10.00
monthly = 200.00
[cost.budget.projects.backend-api]
monthly = 50.00
[cost.alert]
threshold = 80 # Alert at 80% of budget
webhook = "https://hooks.slack.com/..."
email = "team@company.com"
[cost.pricing]
# Override default pricing if needed
claude-sonnet-4-input = 0.000003
claude-sonnet-4-output = 0.000015
"""
MAIL_SERVER = """
[alerts.smtp]
host = "127.0.0.1"
from = "costwarden@company.com"
"""


def test_the_seed_toml_without_a_mail_server_is_refused_naming_the_email_key(seed: Walk) -> None:
    path = seed.write_config("config.toml", SEED_TOML)
    ran = seed.run("budget", "list")
    assert ran.code == 2
    assert ran.err.startswith(
        f"costwarden: configuration error: {path}: cost.alert.email: an email channel needs an SMTP server: "
        "`alerts.smtp:`"
    )
    assert ran.out == ""


def test_the_seed_toml_with_a_mail_server_loads_as_the_seed_describes(seed: Walk) -> None:
    seed.write_config("config.toml", SEED_TOML + MAIL_SERVER)
    with seed.warden() as warden:
        settings = warden.settings
    budgets = {b.id: b for b in settings.budgets}
    assert set(budgets) == {"daily", "monthly", "project-backend-api-monthly"}
    assert (budgets["daily"].period.label, budgets["daily"].cost_usd) == ("day", 10)
    assert (budgets["monthly"].period.label, budgets["monthly"].cost_usd) == ("month", 200)
    project = budgets["project-backend-api-monthly"]
    assert (project.scope, project.value, project.cost_usd) == ("project", "backend-api", 50)
    assert {b.action.value for b in budgets.values()} == {"warn"}  # the seed: warning by default
    assert [str(t.percent) for t in settings.alerts.thresholds] == ["80"]
    assert [c.type for c in settings.alerts.channels] == ["log", "slack", "email"]
    assert settings.alerts.channels[2].to == ["team@company.com"]  # type: ignore[union-attr]
    (override,) = settings.pricing.overrides
    # USD per token x 1,000,000 = USD per million tokens
    assert (override.model, override.input, override.output) == ("claude-sonnet-4", 3, 15)
    status = {r["id"]: r for r in seed.run("budget", "status", "--json").json()}
    assert status["monthly"]["spent"] == "127.50" and status["monthly"]["remaining"] == "72.50"
    assert status["project-backend-api-monthly"]["spent"] == "0.00"


def test_the_alert_webhook_receives_the_threshold_crossing(seed: Walk) -> None:
    from costwarden.testing.webhooks import WebhookReceiver

    with WebhookReceiver() as hook:
        seed.write_config(
            "config.toml",
            SEED_TOML.replace("https://hooks.slack.com/...", hook.url).replace(
                'email = "team@company.com"\n', ""
            ),
        )
        # claude-sonnet-4 at the file's prices: 1,000,000 x $0.000003 + 400,000 x $0.000015 = $3 + $6 = $9,
        # 90 % of the $10 daily budget: the 80 % threshold is crossed once
        out = seed.ok(
            "record",
            "--provider", "anthropic",
            "--model", "claude-sonnet-4",
            "--input-tokens", "1000000",
            "--output-tokens", "400000",
            "--project", "backend-api",
            "--json",
        )  # fmt: skip
        assert json.loads(out)["cost"] == "9.00"
        # delivered by the recording process before it ended (the outbox's inline delivery)
        (request,) = hook.requests
    assert "webhook-signature" not in request.headers
    text = request.json()["text"]
    assert "Budget 'daily' (global, day) reached 80% of its $10.00 limit: $9.00 spent" in text
    alerts = seed.run("alerts", "--json").json()
    assert [(a["budget_id"], a["threshold"]) for a in alerts] == [("daily", "80")]
