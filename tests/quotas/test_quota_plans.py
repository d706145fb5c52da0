"""The `subscriptions:` section: presets filled in and overridden, accounts, errors naming the key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from costwarden.config import settings_from_mapping
from costwarden.errors import ConfigError
from costwarden.quotas.presets import PRESETS


def plans(*items: dict[str, Any]) -> Any:
    return settings_from_mapping({"subscriptions": list(items)}, "costwarden.yaml").subscriptions


def test_a_preset_fills_in_price_and_windows() -> None:
    (plan,) = plans({"provider": "anthropic", "plan": "claude-max-5x"})
    assert plan.price_usd == Decimal(100) and plan.name == "Claude Max 5x"
    assert [w.name for w in plan.windows] == ["5h", "week", "messages-5h"]
    assert plan.windows[0].reading == "unified-5h" and plan.windows[0].reset.spelled == "rolling 5h"
    assert plan.match() == {"agent": ("claude-code",)}
    assert plan.label == "Claude Max 5x (anthropic)"


def test_every_number_of_a_preset_can_be_overridden() -> None:
    (plan,) = plans(
        {
            "provider": "anthropic",
            "account": "work",
            "plan": "claude-pro",
            "price_usd": 17,
            "windows": [
                {"name": "messages-5h", "limit": 40},
                {"name": "messages-day", "unit": "messages", "limit": 300, "reset": "daily 00:00"},
            ],
        }
    )
    assert plan.price_usd == Decimal(17)
    windows = {w.name: w for w in plan.windows}
    assert windows["messages-5h"].limit == 40 and windows["messages-5h"].reset.spelled == "rolling 5h"
    assert windows["messages-day"].limit == 300
    assert set(windows) == {"5h", "week", "messages-5h", "messages-day"}
    assert plan.key == "anthropic/work"


def test_a_plan_of_its_own_and_its_default_event_filter() -> None:
    (plan,) = plans(
        {
            "provider": "openai",
            "account": "team",
            "plan": "team-seat",
            "windows": [{"name": "rpd", "unit": "requests", "limit": 500, "reset": "daily 00:00"}],
        }
    )
    assert plan.match() == {"provider": ("openai",), "tag:account": ("team",)}
    assert plan.price_usd is None


def test_two_accounts_of_one_provider_are_two_plans_but_one_account_is_one() -> None:
    assert (
        len(
            plans(
                {"provider": "anthropic", "plan": "claude-pro"},
                {"provider": "anthropic", "account": "b", "plan": "claude-pro"},
            )
        )
        == 2
    )
    with pytest.raises(ConfigError) as info:
        plans(
            {"provider": "anthropic", "plan": "claude-pro"},
            {"provider": "anthropic", "plan": "claude-max-5x"},
        )
    assert info.value.key == "subscriptions[1].account"


@pytest.mark.parametrize(
    ("item", "key", "message"),
    [
        (
            {"provider": "x", "windows": [{"name": "w", "unit": "percent", "reset": "daily"}]},
            "subscriptions[0].windows[0]",
            "reading",
        ),
        (
            {"provider": "x", "windows": [{"name": "w", "unit": "requests", "limit": 5, "reset": "hourly"}]},
            "subscriptions[0].windows[0].reset",
            "reset rule",
        ),
        (
            {"provider": "x", "windows": [{"name": "w", "unit": "bananas", "limit": 5, "reset": "daily"}]},
            "subscriptions[0].windows[0].unit",
            "requests",
        ),
        (
            {"provider": "x", "windows": [{"name": "w", "unit": "requests", "limit": -1, "reset": "daily"}]},
            "subscriptions[0].windows[0].limit",
            "greater than or equal",
        ),
        ({"provider": "x", "price_usd": "lots"}, "subscriptions[0].price_usd", "amount"),
        ({"provider": "x", "timezone": "Mars/Olympus"}, "subscriptions[0].timezone", "unknown timezone"),
        ({"provider": "x", "where": {"colour": ["red"]}}, "subscriptions[0].where", "unknown field"),
        ({"provider": "x", "on_exhausted": "panic"}, "subscriptions[0].on_exhausted", "fallback"),
    ],
)
def test_bad_plans_name_file_and_key(item: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        plans(item)
    assert info.value.key == key and info.value.source == "costwarden.yaml"
    assert message in str(info.value)


def test_every_preset_is_a_valid_plan() -> None:
    for name, fields in PRESETS.items():
        (plan,) = plans({"provider": fields["provider"], "plan": name})
        assert plan.windows, name
