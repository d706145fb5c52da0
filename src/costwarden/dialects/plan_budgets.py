"""Seed 002's dialect (plans executed by agents): `budget_per_plan`, `budget_per_day` and
`fallback_providers` at the top level.

    budget_per_plan: 2.00             # USD each plan may spend in total
    budget_per_day: 25.00             # USD all plans together may spend per day
    fallback_providers: [openai, anthropic, groq]

Each budget warns when it is within 10 % of its limit (an alert at 90 %) and blocks when it is exceeded.
`fallback_providers` is the order providers are tried in: it sets the `priority` of those providers under
`providers:` (which lists their models and capabilities), so a fallback chain skips a provider without
the capabilities a call needs and takes the next in this order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costwarden.core.provider_names import normalize_provider
from costwarden.dialects.common import Builder

__all__ = ["NAME", "KEYS", "claims", "apply"]

NAME = "plan budgets (seed 002)"
KEYS = ("budget_per_plan", "budget_per_day", "fallback_providers")
_WARN_AT = 90


def claims(data: Mapping[str, Any]) -> bool:
    return any(key in data for key in KEYS)


def _fallback(build: Builder, value: object) -> None:
    key = "fallback_providers"
    if not isinstance(value, list) or not value:
        build.fail(key, "expected a list of provider names, in the order to try them")
    providers = build.data.get("providers")
    listed: dict[str, int] = {}
    if isinstance(providers, list):
        for index, item in enumerate(providers):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                listed[normalize_provider(item["name"])] = index
    seen: set[str] = set()
    for rank, item in enumerate(value, 1):
        where = f"{key}[{rank - 1}]"
        name = normalize_provider(build.text(item, where))
        if name in seen:
            build.fail(where, f"{item!r} is listed twice")
        seen.add(name)
        if name not in listed:
            known = f" (listed: {', '.join(sorted(listed))})" if listed else ""
            build.fail(
                where,
                f"provider {item!r} is not listed under `providers:`{known}; list it there with its models "
                "and capabilities",
            )
        assert isinstance(providers, list)
        entry = providers[listed[name]]
        if "priority" in entry:
            build.fail(where, f"providers[{listed[name]}] sets its own priority; keep one of them")
        entry["priority"] = rank
        build.result.origins[f"providers[{listed[name]}].priority"] = where
        build.mapped(where, f"providers[{listed[name]}].priority = {rank}", "tried in this order")


def apply(build: Builder) -> None:
    build.recognised(NAME)
    for key, scope, period, what in (
        ("budget_per_plan", "plan", "total", "each plan, in total"),
        ("budget_per_day", None, "day", "all calls, per day"),
    ):
        if key not in build.data:
            continue
        amount = build.money(build.data.pop(key), key)
        budget: dict[str, Any] = {"id": key.replace("_", "-"), "period": period, "cost_usd": amount}
        if scope is not None:
            budget["scope"] = scope
        budget.update(thresholds=[_WARN_AT], action="block")
        build.add_budget(budget, key, f"{what}; a warning at {_WARN_AT} %, blocked when exceeded")
    if "fallback_providers" in build.data:
        _fallback(build, build.data.pop("fallback_providers"))
