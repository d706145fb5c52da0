"""Helpers of the budget tests (importable by name: tests/budgets is on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from costwarden.clock import FixedClock as Clock
from costwarden.core.calls import CallRequest
from costwarden.warden import Warden

__all__ = ["PRICING", "PROVIDERS", "Clock", "MakeWarden", "call", "dollars"]

# $1000 per million tokens = $0.001 a token: a call of 100 input + 100 max output has a $0.20 worst case.
PRICING: dict[str, Any] = {
    "custom_models": [
        {"provider": "cloud", "model": "big", "input": "1000", "output": "1000"},
        {"provider": "cloud", "model": "small", "input": "100", "output": "100"},
        {"provider": "other", "model": "mid", "input": "500", "output": "500"},
        {"provider": "plain", "model": "cheap", "input": "10", "output": "10"},
    ]
}
PROVIDERS: list[dict[str, Any]] = [
    {"name": "cloud", "models": ["big", "small"], "capabilities": ["tool_calls", "streaming"], "priority": 1},
    {
        "name": "other",
        "models": ["mid"],
        "capabilities": ["tool_calls", "streaming", "vision"],
        "priority": 2,
    },
    {"name": "plain", "models": ["cheap"], "capabilities": ["streaming"], "priority": 3},
    {
        "name": "ollama",
        "kind": "local",
        "models": ["llama3"],
        "capabilities": ["tool_calls", "streaming"],
        "priority": 9,
    },
]


MakeWarden = Callable[..., Warden]


def call(
    model: str = "big",
    provider: str = "cloud",
    input_tokens: int = 100,
    max_tokens: int = 100,
    **fields: Any,
) -> CallRequest:
    """A request; `fields` go to CallRequest (attribution, capabilities, fallbacks, ...)."""
    return CallRequest(
        provider=provider, model=model, input_tokens=input_tokens, max_tokens=max_tokens, **fields
    )


def dollars(text: str) -> Decimal:
    return Decimal(text)
