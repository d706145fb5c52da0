"""Provider usage blocks -> `Usage`, for SDK objects and plain JSON alike.

OpenAI counts cached (and cache-written) tokens *inside* `prompt_tokens` / `input_tokens`: they are
subtracted to get the uncached input. Anthropic's `input_tokens` are already uncached; cache reads and
writes come beside them, writes split into 5-minute and 1-hour slices by `cache_creation`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from costwarden.core.usage import Usage

__all__ = [
    "field",
    "count",
    "openai_chat_usage",
    "openai_responses_usage",
    "anthropic_usage",
    "usage_from_any",
]


def field(obj: Any, name: str) -> Any:
    """`obj[name]` for mappings, `obj.name` otherwise; None when absent."""
    if obj is None:
        return None
    if type(obj) is dict:
        return obj.get(name)
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def count(obj: Any, *path: str) -> int:
    """A non-negative int at `path` inside `obj` (0 when missing, null or not a number)."""
    value = obj
    for name in path:
        value = value.get(name) if type(value) is dict else field(value, name)
        if value is None:
            return 0
    if type(value) is int:
        return value if value > 0 else 0
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and not math.isnan(value) and not math.isinf(value):
        return max(0, int(value))
    return 0


def _usage(
    *,
    input_tokens: int,
    cache_read: int,
    cache_write: int,
    cache_write_1h: int,
    output: int,
    reasoning: int,
    web_search: int = 0,
) -> Usage:
    return Usage(
        input_tokens=max(0, input_tokens),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=cache_write_1h,
        output_tokens=output,
        reasoning_tokens=min(reasoning, output),
        web_search_requests=web_search,
    )


def openai_chat_usage(usage: Any) -> Usage:
    """Chat Completions `usage`: prompt/completion tokens with their details."""
    prompt = count(usage, "prompt_tokens")
    cached = count(usage, "prompt_tokens_details", "cached_tokens")
    written = count(usage, "prompt_tokens_details", "cache_write_tokens")
    output = count(usage, "completion_tokens")
    reasoning = count(usage, "completion_tokens_details", "reasoning_tokens")
    return _usage(
        input_tokens=prompt - cached - written,
        cache_read=cached,
        cache_write=written,
        cache_write_1h=0,
        output=output,
        reasoning=reasoning,
    )


def openai_responses_usage(usage: Any) -> Usage:
    """Responses API `usage`: input/output tokens with `input_tokens_details` / `output_tokens_details`.

    Long-retention cache writes (`ttl_12h_tokens`) go to the `cache_write_1h_tokens` slice.
    """
    total_input = count(usage, "input_tokens")
    details = field(usage, "input_tokens_details")
    cached = count(details, "cached_tokens")
    written = count(details, "cache_write_tokens")
    long_written = min(count(details, "cache_write_tokens_details", "ttl_12h_tokens"), written)
    output = count(usage, "output_tokens")
    reasoning = count(usage, "output_tokens_details", "reasoning_tokens")
    return _usage(
        input_tokens=total_input - cached - written,
        cache_read=cached,
        cache_write=written - long_written,
        cache_write_1h=long_written,
        output=output,
        reasoning=reasoning,
    )


def anthropic_usage(usage: Any) -> Usage:
    """Anthropic `usage`: uncached input, cache reads, cache writes split 5m/1h, output."""
    creation = count(usage, "cache_creation_input_tokens")
    split = field(usage, "cache_creation")
    one_hour = count(split, "ephemeral_1h_input_tokens")
    five_min = count(split, "ephemeral_5m_input_tokens")
    if split is None or five_min + one_hour == 0:
        five_min, one_hour = creation, 0
    elif five_min + one_hour < creation:
        five_min = creation - one_hour
    return _usage(
        input_tokens=count(usage, "input_tokens"),
        cache_read=count(usage, "cache_read_input_tokens"),
        cache_write=five_min,
        cache_write_1h=one_hour,
        output=count(usage, "output_tokens"),
        reasoning=count(usage, "output_tokens_details", "thinking_tokens"),
        web_search=count(usage, "server_tool_use", "web_search_requests"),
    )


def usage_from_any(usage: Any) -> Usage:
    """Recognise the shape of a usage block (OpenAI chat, Responses or Anthropic) and convert it."""
    if field(usage, "prompt_tokens") is not None or field(usage, "completion_tokens") is not None:
        return openai_chat_usage(usage)
    if (
        field(usage, "input_tokens_details") is not None
        or field(field(usage, "output_tokens_details"), "reasoning_tokens") is not None
    ):
        return openai_responses_usage(usage)
    return anthropic_usage(usage)
