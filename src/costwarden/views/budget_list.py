"""The budgets in force, as `costwarden budget list --json` and `GET /api/v1/limits` show them: one row per
budget (from the config file or set from the CLI or the API), and the ids budgets set without one get."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costwarden.core.money import from_units
from costwarden.core.policy import Policy
from costwarden.reports.formats import money

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["PERIOD_WORDS", "derived_id", "filters_label", "policy_row", "budget_rows"]

PERIOD_WORDS = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month", "total": "total"}


def derived_id(period: str, scope: list[tuple[str, str]]) -> str:
    """The id a budget set without `--id` gets: `daily`, `project-backend-api-monthly`, ..."""
    names = {v: k for k, v in PERIOD_WORDS.items()}
    parts = [f"{name.removeprefix('tag:')}-{value}" for name, value in scope]
    word = names.get(period, period.replace(":", "").replace(" ", "-"))
    text = "-".join([*parts, word]).lower()
    return "".join(ch if ch.isalnum() or ch in "_.:@/-" else "-" for ch in text)[:128]


def filters_label(policy: Policy) -> str:
    """Every filter of a budget, as people read it: `project=a, agent=b`, `agent (each), provider=x|y`."""
    parts: list[str] = []
    scope_field, _, scope_value = policy.scope.partition("=")
    if policy.scope != "global":
        parts.append(policy.scope if scope_value else f"{policy.scope} (each)")
    for name, values in policy.match:
        if scope_value and name == scope_field and values == {scope_value}:
            continue
        parts.append(f"{name}={'|'.join(sorted(values))}")
    return ", ".join(parts) or "global"


def policy_row(policy: Policy, shadowed: set[str]) -> dict[str, Any]:
    """One budget as `costwarden budget list --json` and `GET /api/v1/limits` show it."""
    limits = policy.limits
    return {
        "id": policy.id,
        "origin": policy.origin,
        "scope": policy.scope,
        "where": {
            name: sorted(values) for name, values in policy.match if name != policy.scope.partition("=")[0]
        },
        "filters": filters_label(policy),
        "period": policy.period.spelled,
        "cost_usd": money(from_units(limits.cost)) if limits.cost is not None else None,
        "tokens": limits.tokens,
        "requests": limits.requests,
        "max_concurrent": limits.concurrent,
        "overrides": {
            value: money(from_units(lim.cost)) if lim.cost is not None else None
            for value, lim in policy.overrides.items()
        },
        "action": policy.action.value,
        "thresholds": [f"{t.percent:g}" for t in policy.thresholds],
        "overrides_cli": policy.id in shadowed,
    }


def budget_rows(warden: Warden) -> list[dict[str, Any]]:
    """Every budget in force (a `ConfigError` without a database ledger)."""
    from costwarden.views.budget_status import engine_of

    engine = engine_of(warden)
    shadowed = set(engine.shadowed)
    return [policy_row(p, shadowed) for p in engine.policies.policies]
