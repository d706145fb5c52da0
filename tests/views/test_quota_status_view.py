"""`quota_status_view`: each plan window's use, limit, reset and pace at the Warden's clock; the value of the
plan's usage at API prices against its price; readings from every source. Clock-driven: fixed and rolling
windows, resets, mid-cycle projections."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow
from costwarden.views.quota_status import QuotaQuery, quota_status_view, quota_statusline
from costwarden.warden import Warden

NOW = datetime(2026, 12, 1, 15, 36, tzinfo=UTC)  # 16:36 in Berlin; the day resets at midnight Berlin
PRICING = {"custom_models": [{"provider": "anthropic", "model": "claude-x", "input": "3", "output": "15"}]}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def make(clock: FixedClock) -> Iterator[Any]:
    made: list[Warden] = []

    def build(*plans: dict[str, Any]) -> Warden:
        settings = settings_from_mapping(
            {"timezone": "Europe/Berlin", "pricing": PRICING, "subscriptions": list(plans)}
        )
        warden = Warden(settings, ledger=MemoryLedger(), clock=clock)
        made.append(warden)
        return warden

    yield build
    for warden in made:
        warden.close()


def message(warden: Warden, at: datetime, project: str, *, agent: str = "claude-code", **tags: str) -> None:
    warden.record(
        provider="anthropic",
        model="claude-x",
        input_tokens=1000,
        output_tokens=200,
        occurred_at=at,
        project=project,
        agent=agent,
        tags=tags,
    )


def test_daily_messages_seed_004(make: Any) -> None:
    warden = make(
        {
            "provider": "anthropic",
            "plan": "claude-pro",
            "windows": [{"name": "messages-day", "unit": "messages", "limit": 300, "reset": "daily 00:00"}],
        }
    )
    day_start = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # midnight in Berlin
    for i in range(28):
        message(warden, day_start + timedelta(minutes=10 * i), "backend-api")
    for i in range(17):
        message(warden, day_start + timedelta(minutes=10 * i + 5), "frontend")
    message(warden, day_start - timedelta(minutes=1), "frontend")  # yesterday: not today's
    message(warden, NOW, "other", agent="aider")  # not the plan's (where: agent claude-code)
    (plan,) = quota_status_view(warden, QuotaQuery()).plans
    day = {w.window.name: w for w in plan.windows}["messages-day"]
    assert (day.used, day.limit, day.percent, day.source) == (
        Decimal(45),
        Decimal(300),
        Decimal("15.0"),
        "ledger",
    )
    assert day.reset_at == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert day.by_project == (("backend-api", Decimal(28)), ("frontend", Decimal(17)))
    # 16h36m of 24h gone at 15 %: 21.7 % at this pace
    assert day.projected_percent == Decimal("21.7")
    # the month so far (Berlin): the one of November 30 23:59 Berlin is last month
    assert plan.value_usd == Decimal(45) * Decimal("0.006")
    assert plan.requests == 45


def test_after_the_reset_a_fixed_window_starts_empty(make: Any, clock: FixedClock) -> None:
    warden = make(
        {
            "provider": "anthropic",
            "windows": [{"name": "day", "unit": "requests", "limit": 10, "reset": "daily 00:00"}],
        }
    )
    message(warden, NOW, "p")
    clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # midnight Berlin
    (plan,) = quota_status_view(warden, QuotaQuery()).plans
    (day,) = plan.windows
    assert day.used == 0 and day.start == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def test_a_rolling_window_forgets_what_left_it(make: Any, clock: FixedClock) -> None:
    warden = make(
        {
            "provider": "anthropic",
            "windows": [{"name": "5h", "unit": "tokens", "limit": 12_000, "reset": "rolling 5h"}],
        }
    )
    for hours in (6, 4, 1):
        message(warden, NOW - timedelta(hours=hours), "p")
    (window,) = quota_status_view(warden, QuotaQuery()).plans[0].windows
    assert window.used == 2 * 1200 and window.percent == Decimal("20.0") and window.projected_percent is None
    clock.advance(timedelta(hours=1, seconds=1))
    (window,) = quota_status_view(warden, QuotaQuery()).plans[0].windows
    assert window.used == 1200


def test_percent_windows_come_from_the_providers_readings(make: Any, clock: FixedClock) -> None:
    warden = make({"provider": "codex", "plan": "chatgpt-pro"})
    reset = NOW + timedelta(hours=2)  # 3 of the 5 hours gone
    windows = {
        "primary-300m": QuotaWindow("primary-300m", utilization=0.45, reset_at=reset),
        "secondary-10080m": QuotaWindow(
            "secondary-10080m", utilization=0.31, reset_at=NOW + timedelta(days=3.5)
        ),
    }
    warden.quotas.record(QuotaSnapshot("codex", NOW - timedelta(minutes=5), windows, source="codex"))
    result = quota_status_view(warden, QuotaQuery())
    five, week = result.plans[0].windows
    assert (five.percent, five.source, five.reset_at) == (Decimal("45.0"), "reading", reset)
    assert five.projected_percent == Decimal("75.0")  # 45 % in 3 of 5 hours
    assert week.percent == Decimal("31.0") and week.projected_percent == Decimal("62.0")
    assert result.statusline == "5h: 45% | week: 31%"
    assert quota_statusline(warden) == "5h: 45% | week: 31%"
    assert result.plans[0].utilization == Decimal("45.0")
    clock.advance(timedelta(hours=2))  # the 5-hour window reset since the reading
    five, _ = quota_status_view(warden, QuotaQuery()).plans[0].windows
    assert five.percent == 0 and five.projected_percent is None and not five.exhausted
    clock.advance(timedelta(days=8))  # the readings are older than the windows: unknown
    five, week = quota_status_view(warden, QuotaQuery()).plans[0].windows
    assert five.source == week.source == "unknown" and five.percent is None


def test_an_exhausted_reading_marks_the_plan(make: Any) -> None:
    warden = make({"provider": "anthropic", "plan": "claude-max-20x"})
    hit = QuotaWindow("unified-5h", utilization=1.0, status="exhausted", reset_at=NOW + timedelta(hours=1))
    warden.quotas.record(QuotaSnapshot("anthropic", NOW - timedelta(minutes=1), {"unified-5h": hit}))
    (plan,) = quota_status_view(warden, QuotaQuery()).plans
    assert plan.exhausted and plan.windows[0].percent == Decimal("100.0")


def test_accounts_read_their_own_readings_and_filters(make: Any) -> None:
    warden = make(
        {"provider": "anthropic", "account": "work", "plan": "claude-pro"},
        {"provider": "anthropic", "account": "home", "plan": "claude-pro"},
    )
    for account, used in (("work", 0.8), ("home", 0.1)):
        window = QuotaWindow("unified-5h", utilization=used, reset_at=NOW + timedelta(hours=1))
        warden.quotas.record(QuotaSnapshot("anthropic", NOW, {"unified-5h": window}, account=account))
    result = quota_status_view(warden, QuotaQuery())
    assert [(p.plan.account, p.windows[0].percent) for p in result.plans] == [
        ("work", Decimal("80.0")),
        ("home", Decimal("10.0")),
    ]
    assert result.statusline == "work 5h: 80% | work messages-5h: 0% | home 5h: 10% | home messages-5h: 0%"
    only = quota_status_view(warden, QuotaQuery(provider="anthropic", account="home"))
    assert [p.plan.account for p in only.plans] == ["home"]
    assert {r.account for r in only.readings} == {"home"}


def test_json_carries_the_schema_and_exact_amounts(make: Any) -> None:
    warden = make(
        {
            "provider": "openrouter",
            "plan": "openrouter-credits",
            "price_usd": 25,
            "windows": [{"name": "spend", "unit": "usd", "limit": "10.50", "reset": "monthly 1"}],
            "where": {"provider": ["anthropic"]},
        }
    )
    message(warden, NOW - timedelta(hours=1), "p")
    data = quota_status_view(warden, QuotaQuery()).to_json()
    assert data["schema"] == "costwarden.quota_status/1" and data["at"] == "2026-12-01T15:36:00Z"
    (plan,) = data["plans"]
    assert plan["price_usd"] == "25.00" and plan["value_usd"] == "0.006"
    spend = {w["name"]: w for w in plan["windows"]}["spend"]
    assert (spend["used"], spend["limit"], spend["remaining"], spend["unit"]) == (
        "0.006",
        "10.50",
        "10.494",
        "usd",
    )
    assert spend["reset_at"] == "2026-12-31T23:00:00Z"
