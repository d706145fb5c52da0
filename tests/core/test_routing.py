from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from costwarden.config import settings_from_mapping
from costwarden.core.routing import ProviderConfig, ProviderRegistry, Route
from costwarden.errors import ConfigError

PROVIDERS: list[dict[str, Any]] = [
    {
        "name": "openai",
        "models": ["gpt-4o", {"name": "gpt-4o-mini", "capabilities": ["streaming"]}],
        "capabilities": ["tool_calls", "streaming", "json_mode"],
        "context_window": 128000,
        "priority": 2,
    },
    {
        "name": "anthropic",
        "models": "claude-sonnet-4-5",
        "capabilities": ["tool_calls", "streaming", "vision"],
        "priority": 1,
        "cost_tier": "high",
    },
    {"name": "ollama", "kind": "local", "models": ["llama3"], "capabilities": ["tool_calls"], "priority": 9},
    {"name": "off", "models": ["x"], "enabled": False},
]


def registry() -> ProviderRegistry:
    return ProviderRegistry(ProviderConfig.model_validate(p) for p in PROVIDERS)


def pairs(routes: list[Route]) -> list[tuple[str, str]]:
    return [(r.provider, r.model) for r in routes]


def test_routes_in_priority_order_with_inherited_capabilities() -> None:
    reg = registry()
    assert pairs(list(reg.routes)) == [
        ("anthropic", "claude-sonnet-4-5"),
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("ollama", "llama3"),
    ]
    mini = reg.route("openai", "gpt-4o-mini")
    assert mini.capabilities == frozenset({"streaming"}) and mini.context_window == 128000
    assert reg.route("anthropic", "claude-sonnet-4-5").cost_tier == "high"
    assert reg.kind("ollama") == "local" and reg.kind("nobody") is None
    unknown = reg.route("nobody", "m")
    assert unknown.capabilities is None and not unknown.fits({"tool_calls"}, 0) and unknown.fits((), 10**9)
    assert reg.route("openai", "gpt-5").capabilities == frozenset({"tool_calls", "streaming", "json_mode"})


def test_spec_expansion() -> None:
    reg = registry()
    assert pairs(reg.expand(["local"])) == [("ollama", "llama3")]
    assert pairs(reg.expand(["openai"])) == [("openai", "gpt-4o")]
    assert pairs(reg.expand(["openai/gpt-4o-mini", "kind:local", "openai/gpt-4o-mini"])) == [
        ("openai", "gpt-4o-mini"),
        ("ollama", "llama3"),
    ]
    assert len(reg.expand(["chain"])) == 4
    assert pairs(reg.expand(["tier:high"])) == [("anthropic", "claude-sonnet-4-5")]
    assert reg.expand(["tier:low"]) == []


def test_candidates_filter_capabilities_context_and_the_refused_route() -> None:
    reg = registry()
    found = reg.candidates(
        refused=("anthropic", "claude-sonnet-4-5"), spec=["chain"], capabilities={"tool_calls"}
    )
    assert pairs(found) == [("openai", "gpt-4o"), ("ollama", "llama3")]
    found = reg.candidates(refused=("x", "y"), spec=["chain"], tokens=150_000)
    assert ("openai", "gpt-4o") not in pairs(found)  # 128k context window
    found = reg.candidates(
        refused=("x", "y"), spec=["local", "openai"], explicit=[("mine", "m"), ("ollama", "llama3")]
    )
    assert pairs(found) == [("mine", "m"), ("ollama", "llama3"), ("openai", "gpt-4o")]
    found = reg.candidates(refused=("x", "y"), spec=["openai/gpt-4o", "anthropic"], order="priority")
    assert pairs(found) == [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4o")]
    prices = {"gpt-4o": Decimal(5), "claude-sonnet-4-5": Decimal(9), "llama3": Decimal(0)}
    found = reg.candidates(
        refused=("x", "y"), spec=["chain"], order="cost", cost_of=lambda r: prices.get(r.model, Decimal(1))
    )
    assert pairs(found)[0] == ("ollama", "llama3") and pairs(found)[-1] == ("anthropic", "claude-sonnet-4-5")


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        (
            {"name": "a", "models": ["m"], "capabilities": ["telepathy"]},
            "providers[0].capabilities",
            "unknown capability",
        ),
        ({"name": "a", "models": []}, "providers[0].models", "at least 1 item"),
        ({"name": "a", "models": ["m", "m"]}, "providers[0]", "a model is listed twice"),
        ({"name": "a", "models": ["m"], "kind": "free"}, "providers[0].kind", "Input should be"),
    ],
)
def test_provider_config_errors(entry: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"providers": [entry]}, "c.yaml")
    assert str(info.value).startswith(f"c.yaml: {key}: ") and message in str(info.value)


def test_duplicate_provider_names() -> None:
    with pytest.raises(ConfigError, match=r"^c.yaml: providers\[1\].name: 'a' is used twice$"):
        settings_from_mapping(
            {"providers": [{"name": "a", "models": ["m"]}, {"name": "a", "models": ["n"]}]}, "c.yaml"
        )
