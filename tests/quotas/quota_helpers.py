"""Helpers of the quota tests (a module of its own name: `conftest` is ambiguous across test folders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costwarden.core.calls import CallRequest
from costwarden.warden import Warden

__all__ = ["PRICING", "PROVIDERS", "MakeWarden", "call"]

# $1000 per million tokens: a call of 100 input + 100 max output tokens has a $0.20 worst case
PRICING: dict[str, Any] = {
    "custom_models": [
        {"provider": "cloud", "model": "big", "input": "1000", "output": "1000"},
        {"provider": "other", "model": "mid", "input": "500", "output": "500"},
    ]
}
PROVIDERS: list[dict[str, Any]] = [
    {"name": "cloud", "models": ["big"], "capabilities": ["streaming"], "priority": 1},
    {"name": "other", "models": ["mid"], "capabilities": ["streaming"], "priority": 2},
]

MakeWarden = Callable[..., Warden]


def call(provider: str = "cloud", model: str = "big", **fields: Any) -> CallRequest:
    fields.setdefault("input_tokens", 100)
    fields.setdefault("max_tokens", 100)
    return CallRequest(provider=provider, model=model, **fields)
