"""The budget rows of one scope value (a plan, a provider), also for budgets it has not spent under yet:
`costwarden budget status` lists only the scope values with counters; a plan's or a backend's view shows
its own limit from the start, with nothing spent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from costwarden.budgets.engine import BudgetEngine
from costwarden.budgets.status import BudgetStatus
from costwarden.core.admission import DIMENSIONS

__all__ = ["scope_rows"]


def _kept_for(status: BudgetStatus, name: str, value: str) -> bool:
    return f"{name}={value}" in status.scope.split("|")


def scope_rows(
    engine: BudgetEngine, statuses: Sequence[BudgetStatus], name: str, value: str, now: datetime
) -> list[BudgetStatus]:
    """The rows of budgets kept per `name` (`plan`, `provider`) for `value`: the counted ones from
    `statuses`, and a zero row for each limit of such a budget with nothing counted for `value` yet."""
    rows = [s for s in statuses if s.policy.per == (name,) and _kept_for(s, name, value)]
    counted = {s.policy.id for s in rows}
    for policy in engine.policies.policies:
        if policy.id in counted or policy.per != (name,):
            continue
        if any(key == name and value not in values for key, values in policy.match):
            continue  # a budget per provider for some providers only
        limits = policy.limits_for(value)
        window = engine.window(policy, now.timestamp())
        resets = window.end if policy.period.resets else None
        for dimension in DIMENSIONS:
            limit = limits.of(dimension)
            if limit is not None:
                rows.append(BudgetStatus(policy, f"{name}={value}", dimension, limit, 0, 0, resets))
    return rows
