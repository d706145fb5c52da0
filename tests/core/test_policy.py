from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costwarden.config import settings_from_mapping
from costwarden.core.money import to_units
from costwarden.core.policy import (
    Action,
    AlertsConfig,
    BudgetConfig,
    Limits,
    PolicySet,
    compile_policies,
    compile_policy,
)
from costwarden.core.usage import Attribution
from costwarden.errors import ConfigError


def budget(**fields: Any) -> BudgetConfig:
    fields.setdefault("id", "b")
    fields.setdefault("period", "day")
    return BudgetConfig.model_validate(fields)


def config_error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(data, "costwarden.yaml")
    return str(info.value)


def test_minimal_budget_and_defaults() -> None:
    b = budget(cost_usd="10")
    assert b.scope == "global"
    assert b.action is Action.BLOCK
    assert b.cost_usd == Decimal("10")
    policy = compile_policy(b)
    assert policy.limits == Limits(cost=to_units(Decimal(10)))
    assert [t.percent for t in policy.thresholds] == [50, 80, 95]
    assert [t.level for t in policy.thresholds] == ["info", "warning", "critical"]


def test_float_amounts_are_exact() -> None:
    assert budget(cost_usd=0.1).cost_usd == Decimal("0.1")


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        (
            {"id": "a", "period": "day", "cost_usd": -5},
            "budgets[0].cost_usd",
            "expected a non-negative amount",
        ),
        ({"id": "a", "period": "day"}, "budgets[0]", "a budget needs a limit"),
        ({"id": "a", "period": "fortnight", "cost_usd": 1}, "budgets[0].period", "expected a period"),
        (
            {"id": "a", "period": "day", "cost_usd": 1, "scope": "team"},
            "budgets[0].scope",
            "unknown scope 'team'",
        ),
        ({"id": "a", "period": "day", "cost_usd": 1, "value": "x"}, "budgets[0]", "`value` needs a scope"),
        (
            {"id": "a", "period": "day", "cost_usd": 1, "action": "explode"},
            "budgets[0].action",
            "Input should be",
        ),
        ({"id": "a b", "period": "day", "cost_usd": 1}, "budgets[0].id", "expected an id"),
        ({"id": "a", "period": "day", "cost_usd": 1, "colour": "red"}, "budgets[0].colour", "unknown key"),
        (
            {"id": "a", "period": "day", "cost_usd": 1, "action": "terminate_run"},
            "budgets[0]",
            "terminate_run needs a per-run budget",
        ),
        (
            {"id": "a", "period": "day", "cost_usd": 1, "fallback": ["local"]},
            "budgets[0]",
            "`fallback` is only used with action: fallback",
        ),
        (
            {"id": "a", "period": "day", "cost_usd": 1, "queue_timeout": "soon"},
            "budgets[0].queue_timeout",
            "timeout",
        ),
        (
            {"id": "a", "period": "day", "cost_usd": 1, "thresholds": [120]},
            "budgets[0].thresholds[0].percent",
            "100",
        ),
    ],
)
def test_config_errors_name_file_and_key(entry: dict[str, Any], key: str, message: str) -> None:
    text = config_error({"budgets": [entry]})
    assert text.startswith(f"costwarden.yaml: {key}: "), text
    assert message in text


def test_duplicate_ids_are_refused_naming_the_second() -> None:
    text = config_error(
        {
            "budgets": [
                {"id": "a", "period": "day", "cost_usd": 1},
                {"id": "a", "period": "month", "cost_usd": 2},
            ]
        }
    )
    assert text == "costwarden.yaml: budgets[1].id: 'a' is used twice"


def test_a_webhook_channel_needs_its_signing_secret() -> None:
    text = config_error({"alerts": {"channels": [{"type": "webhook", "url": "https://x"}]}})
    assert text.startswith("costwarden.yaml: alerts.channels[0].webhook: a webhook needs its signing secret")


def test_thresholds_accept_numbers_percent_strings_and_mappings() -> None:
    b = budget(cost_usd=1, thresholds=[90, "75%", {"percent": 50, "level": "info", "message": "half"}])
    policy = compile_policy(b)
    assert [(t.percent, t.level, t.message) for t in policy.thresholds] == [
        (50, "info", "half"),
        (75, "info", None),
        (90, "warning", None),
    ]


def test_alerts_section_sets_default_thresholds() -> None:
    alerts = AlertsConfig.model_validate({"thresholds": [90]})
    policies = compile_policies([budget(cost_usd=1), budget(id="c", cost_usd=1, thresholds=[10])], alerts)
    assert [t.percent for t in policies[0].thresholds] == [90]
    assert [t.percent for t in policies[1].thresholds] == [10]


def test_disabled_budgets_are_not_compiled() -> None:
    assert compile_policies([budget(cost_usd=1, enabled=False)]) == []


def matches(
    policies: PolicySet, provider: str = "anthropic", model: str = "claude", **attribution: Any
) -> dict[str, Any]:
    return {
        a.policy.id: (a.scope_key, a.limits)
        for a in policies.applicable(Attribution(**attribution), provider, model)
    }


def test_scopes_each_value_one_value_and_overrides() -> None:
    policies = PolicySet(
        compile_policies(
            [
                budget(id="global", cost_usd=50),
                budget(
                    id="per-project", scope="project", cost_usd=20, overrides={"my-arpg": {"cost_usd": 30}}
                ),
                budget(id="arpg-agent", scope="agent", value="coder", cost_usd=5),
                budget(id="team", scope="tag:team", cost_usd=7),
                budget(id="claude", scope="provider", value="anthropic", period="month", cost_usd=20),
                budget(id="cloud", where={"provider": ["anthropic", "openai"]}, cost_usd=3),
            ]
        )
    )
    found = matches(policies, project="web", agent="coder", tags={"team": "red"})
    assert found["global"] == ("", Limits(cost=to_units(Decimal(50))))
    assert found["per-project"] == ("project=web", Limits(cost=to_units(Decimal(20))))
    assert found["arpg-agent"][0] == "agent=coder"
    assert found["team"][0] == "tag:team=red"
    assert found["claude"][0] == "provider=anthropic"
    assert found["cloud"][0] == ""
    arpg = matches(policies, project="my-arpg")
    assert arpg["per-project"] == ("project=my-arpg", Limits(cost=to_units(Decimal(30))))
    assert "arpg-agent" not in arpg and "team" not in arpg
    local = matches(policies, provider="ollama", model="llama3")
    assert set(local) == {"global"}


def test_overrides_without_default_limit_only_cover_listed_values() -> None:
    policies = PolicySet(
        compile_policies(
            [
                budget(
                    id="per-backend",
                    scope="provider",
                    period="month",
                    overrides={"claude": {"cost_usd": 20}, "kimi": {"cost_usd": 15}},
                )
            ]
        )
    )
    assert "per-backend" in matches(policies, provider="claude")
    assert "per-backend" not in matches(policies, provider="gemini")


def test_per_run_period_keys_by_run_and_needs_a_run() -> None:
    policies = PolicySet(
        compile_policies(
            [budget(id="per-run", scope="agent", period="run", cost_usd=5, action="terminate_run")]
        )
    )
    assert matches(policies, agent="coder", run="r1")["per-run"][0] == "agent=coder|run=r1"
    assert matches(policies, agent="coder") == {}


def test_run_concurrency_applies_to_runs_not_calls() -> None:
    policies = PolicySet(
        compile_policies(
            [
                budget(id="agents", period="total", max_concurrent=5, concurrency="runs"),
                budget(id="calls", period="total", max_concurrent=2),
            ]
        )
    )
    calls = policies.applicable(Attribution(), "p", "m")
    assert [a.policy.id for a in calls] == ["calls"]
    runs = policies.applicable(Attribution(run="r"), "", "", runs=True)
    assert [(a.policy.id, a.limits.concurrent) for a in runs] == [("agents", 5)]


def test_run_concurrency_cannot_be_scoped_by_provider() -> None:
    text = config_error(
        {
            "budgets": [
                {"id": "a", "period": "day", "max_concurrent": 2, "concurrency": "runs", "scope": "provider"}
            ]
        }
    )
    assert "concurrency: runs cannot be scoped by provider or model" in text


def test_matching_is_cached_per_attribution() -> None:
    policies = PolicySet(compile_policies([budget(id="p", scope="project", cost_usd=1)]))
    first = policies.applicable(Attribution(project="a"), "x", "y")
    assert policies.applicable(Attribution(project="a", agent="ignored"), "x", "y") is first
    assert policies.applicable(Attribution(project="b"), "x", "y") is not first


def test_example_configs_load() -> None:
    from costwarden.config import load_settings

    examples = sorted((Path(__file__).parents[2] / "examples").glob("seed00*.yaml"))
    assert len(examples) == 4
    for path in examples:
        settings = load_settings(path)
        assert settings.budgets, path


def test_thresholds_set_from_the_cli_join_a_budgets_own() -> None:
    from costwarden.core.policy import ExtraThreshold, with_extra_thresholds

    policy = compile_policy(budget(cost_usd=200, thresholds=[50, 80]))
    extras = [
        ExtraThreshold(percent=Decimal(80), level="critical"),  # already there: kept as it was
        ExtraThreshold(percent=Decimal(90)),
        ExtraThreshold(amount_usd=Decimal(150)),
        ExtraThreshold(amount_usd=Decimal(500)),  # above the limit: never reached, left out
        ExtraThreshold(budget="other", percent=Decimal(10)),
    ]
    out = with_extra_thresholds(policy, extras)
    assert [(t.percent, t.level) for t in out.thresholds] == [
        (50, "info"),
        (75, "warning"),
        (80, "warning"),
        (90, "warning"),
    ]
    tokens_only = compile_policy(budget(tokens=1000))
    assert with_extra_thresholds(tokens_only, [ExtraThreshold(amount_usd=Decimal(1))]) is tokens_only
    item = ExtraThreshold.from_mapping({"budget": None, "amount_usd": "150", "level": "critical"})
    assert ExtraThreshold.from_mapping(item.to_mapping()) == item and item.label == "$150.00"
    with pytest.raises(ValueError, match="percent or amount_usd"):
        ExtraThreshold.from_mapping({"budget": "x"})
