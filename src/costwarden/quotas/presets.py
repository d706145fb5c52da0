"""Built-in subscription plans: a name fills in the provider, price and windows; every field can be
overridden in the config (a window of the same name replaces the preset's fields one by one).

Where each number comes from (as published when this list was written; providers change them, so check
and override):

- `claude-pro` $20/month, `claude-max-5x` $100/month, `claude-max-20x` $200/month: anthropic.com/pricing.
  Windows: a rolling 5-hour session limit and a weekly limit, reported as a utilization in Anthropic's
  `anthropic-ratelimit-unified-5h-*` / `-7d-*` response headers (readings `unified-5h`, `unified-7d`).
  Messages per 5 hours: "at least 45" (Pro), "at least 225" (Max 5x), "at least 900" (Max 20x) short
  messages, per Anthropic's help centre articles "About Claude Pro usage" and "About Claude's Max plan
  usage"; real caps vary with message length and model, so these are a floor, counted from the ledger
  (the Claude Code events: `where: {agent: claude-code}`).
- `chatgpt-plus` $20/month, `chatgpt-pro` $200/month: openai.com/chatgpt/pricing. Codex reports the two
  windows itself in every `token_count` event (`rate_limits.primary`: 300 minutes, `secondary`: 10080
  minutes, as `used_percent`), so the windows are percentages read from the Codex logs (provider `codex`).
- `openrouter-credits`: prepaid credits, no period; the limit and usage come from OpenRouter's key
  endpoint (`GET /api/v1/key`: `limit`, `usage`, `limit_remaining`), polled by `costwarden quota poll`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PRESETS", "preset"]


def _claude(price: int, messages: int) -> dict[str, Any]:
    return {
        "provider": "anthropic",
        "price_usd": price,
        "where": {"agent": ["claude-code"]},
        "windows": [
            {"name": "5h", "unit": "percent", "reset": "rolling 5h", "reading": "unified-5h"},
            {"name": "week", "unit": "percent", "reset": "rolling 7d", "reading": "unified-7d"},
            {"name": "messages-5h", "unit": "messages", "limit": messages, "reset": "rolling 5h"},
        ],
    }


def _chatgpt(price: int) -> dict[str, Any]:
    return {
        "provider": "codex",
        "price_usd": price,
        "where": {"agent": ["codex"]},
        "windows": [
            {"name": "5h", "unit": "percent", "reset": "rolling 5h", "reading": "primary-300m"},
            {"name": "week", "unit": "percent", "reset": "rolling 7d", "reading": "secondary-10080m"},
        ],
    }


PRESETS: Mapping[str, Mapping[str, Any]] = {
    "claude-pro": {"name": "Claude Pro", **_claude(20, 45)},
    "claude-max-5x": {"name": "Claude Max 5x", **_claude(100, 225)},
    "claude-max-20x": {"name": "Claude Max 20x", **_claude(200, 900)},
    "chatgpt-plus": {"name": "ChatGPT Plus", **_chatgpt(20)},
    "chatgpt-pro": {"name": "ChatGPT Pro", **_chatgpt(200)},
    "openrouter-credits": {
        "name": "OpenRouter credits",
        "provider": "openrouter",
        "billing": "never",
        "windows": [{"name": "credits", "unit": "usd", "reset": "never", "reading": "credits"}],
    },
}
"""Preset name -> the config fields it fills in."""


def preset(name: str) -> Mapping[str, Any] | None:
    """The config fields of a built-in plan, or None."""
    return PRESETS.get(name)
