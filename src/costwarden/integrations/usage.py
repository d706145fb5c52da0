"""Reading usage blocks, for SDK objects and plain JSON alike: `field`, `count` and `slices`.

Each provider's own block (which fields, what they include) is read by its wire formats in
`costwarden.integrations.providers`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from costwarden.core.usage import Usage

__all__ = ["field", "count", "slices"]


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


def slices(
    *,
    input_tokens: int,
    cache_read: int,
    cache_write: int,
    cache_write_1h: int,
    output: int,
    reasoning: int,
    web_search: int = 0,
) -> Usage:
    """A `Usage` of non-overlapping slices (uncached input floored at 0, reasoning at most the output)."""
    return Usage(
        input_tokens=max(0, input_tokens),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=cache_write_1h,
        output_tokens=output,
        reasoning_tokens=min(reasoning, output),
        web_search_requests=web_search,
    )
