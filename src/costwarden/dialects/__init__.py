"""Configuration dialects: the seeds' own config shapes, recognised by the loader and translated into
costwarden's schema before it is validated.

A file may mix a dialect with costwarden's own keys. Each dialect is one module with `NAME`, `claims(data)`
(whether the file uses it) and `apply(builder)`; `translate` runs every dialect that claims the file and
returns the costwarden configuration with what was mapped where (`costwarden config import` prints it).
Every key of a dialect's sections is checked: an unknown one is a `ConfigError` naming the file and the key
as written (`limits.global.max_cost_per_dya: unknown key`).

| dialect | recognised by |
|---|---|
| `limits` (seed 001) | `limits:`, `projects:`, `usage:`, `pricing.models`, `alerts.notifications` |
| `plan_budgets` (seed 002) | `budget_per_plan`, `budget_per_day`, `fallback_providers` |
| `budget_block` (seed 003) | `budgets:` as a section of keys (`daily_limit_usd`, `per_backend`, ...) |
| `cost_table` (seed 004) | a `[cost]` table (`[cost.budget]`, `[cost.alert]`, `[cost.pricing]`) |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costwarden.dialects import budget_block, cost_table, limits, plan_budgets
from costwarden.dialects.common import Builder, Mapped, Translation

__all__ = ["DIALECTS", "Mapped", "Translation", "translate"]

DIALECTS = (limits, plan_budgets, budget_block, cost_table)
"""Applied in this order (budgets are appended to `budgets:` in this order too)."""


def translate(data: Mapping[str, Any], source: str | None = None) -> Translation:
    """`data` (a config file as read) in costwarden's own schema, with the dialects found and what was mapped
    where; a file without a dialect comes back unchanged."""
    if not any(dialect.claims(data) for dialect in DIALECTS):
        return Translation(dict(data))
    build = Builder(data, source)
    for dialect in DIALECTS:
        if dialect.claims(build.data):
            dialect.apply(build)
    return build.result
