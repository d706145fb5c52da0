"""The model of the model-based budget test (test_budget_model.py): what every budget must say, recomputed
from the events (the ledger's, plus those retention folded away) and the admissions still open, with its
own period arithmetic, independent of the engine's counters and keys.

Budgets here are UTC, on one attribution field (`project`), with cost, token and request limits:

- `scope`: `global`, `project` (each project its own counters), `project=NAME` (that project), or
  `where=A,B` (a global budget narrowed by `where: {project: [A, B]}`);
- `period`: `hour`, `day`, `month`, `total` or `rolling: 6h`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costwarden.core.money import to_units
from costwarden.core.periods import Period
from costwarden.core.usage import UsageEvent

__all__ = [
    "PROJECTS",
    "PERIODS",
    "SCOPES",
    "BudgetDef",
    "Tally",
    "Slot",
    "ModelEvent",
    "Hold",
    "OpenCall",
    "slot_of",
    "visible",
    "expected",
    "nonzero",
    "check_status",
]

PROJECTS = ("alpha", "beta", "gamma")
PERIODS = ("hour", "day", "month", "total", "rolling: 6h")
SCOPES = ("global", "project", "project=alpha", "project=beta", "where=alpha,beta", "where=gamma")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Tally:
    """Amounts on the three spend dimensions (cost in storage units, 10^-10 USD)."""

    cost: int = 0
    tokens: int = 0
    requests: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.cost + other.cost, self.tokens + other.tokens, self.requests + other.requests)

    def of(self, dimension: str) -> int:
        value: int = getattr(self, dimension)
        return value


@dataclass(frozen=True, slots=True)
class BudgetDef:
    """One budget's definition as the test draws it (see the module docstring)."""

    period: str
    scope: str
    cost_usd: Decimal
    tokens: int | None = None
    requests: int | None = None

    def config(self, budget_id: str) -> dict[str, Any]:
        """The definition as a `budgets:` item (also what `costwarden budget set` saves)."""
        out: dict[str, Any] = {"id": budget_id, "period": self.period, "cost_usd": str(self.cost_usd)}
        if self.tokens is not None:
            out["tokens"] = self.tokens
        if self.requests is not None:
            out["requests"] = self.requests
        if self.scope == "project":
            out["scope"] = "project"
        elif self.scope.startswith("project="):
            out["scope"] = "project"
            out["value"] = self.scope.partition("=")[2]
        elif self.scope.startswith("where="):
            out["where"] = {"project": self.scope.partition("=")[2].split(",")}
        return out

    def limits(self) -> dict[str, int]:
        out = {"cost": to_units(self.cost_usd)}
        if self.tokens is not None:
            out["tokens"] = self.tokens
        if self.requests is not None:
            out["requests"] = self.requests
        return out

    def scope_of(self, project: str | None) -> str | None:
        """The scope (as `budget status` names it) a call or event of `project` counts in; None: the budget
        does not apply."""
        if self.scope == "global":
            return "global"
        if self.scope == "project":
            return None if project is None else f"project={project}"
        kind, _, value = self.scope.partition("=")
        if kind == "project":
            return self.scope if project == value else None
        allowed = value.split(",")
        if project not in allowed:
            return None
        return f"project={allowed[0]}" if len(allowed) == 1 else "global"


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a spend or a hold sits in time: the period it was made under and its instance (the window's
    start for calendar periods, the bucket's index for rolling ones, 0 for `total`)."""

    period: str
    instance: int


def _rolling(period: str) -> tuple[float, float]:
    parsed = Period.parse(period)
    return parsed.seconds, parsed.bucket_seconds


def _calendar_start(period: str, at: datetime) -> datetime:
    at = at.astimezone(UTC)
    if period == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    if period == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    raise ValueError(period)


def slot_of(period: str, at: datetime) -> Slot:
    """The slot an event at `at` (or a hold made at `at`) falls in."""
    if period == "total":
        return Slot(period, 0)
    if period.startswith("rolling"):
        _, size = _rolling(period)
        return Slot(period, math.floor((at - _EPOCH).total_seconds() / size))
    return Slot(period, int(_calendar_start(period, at).timestamp()))


def visible(slot: Slot, period: str, now: datetime) -> bool:
    """Whether a slot counts in the current window of a budget whose period is now `period`."""
    if slot.period != period:
        return False
    if period.startswith("rolling"):
        seconds, size = _rolling(period)
        first = math.floor(((now - _EPOCH).total_seconds() - seconds) / size)
        return slot.instance >= first
    return slot == slot_of(period, now)


@dataclass(frozen=True, slots=True)
class ModelEvent:
    """An event as the budgets see it."""

    id: str
    at: datetime
    project: str | None
    amounts: Tally

    @classmethod
    def of(cls, event: UsageEvent) -> ModelEvent:
        usage = event.usage
        return cls(
            event.id,
            event.occurred_at,
            event.attribution.project,
            Tally(to_units(event.cost_total), usage.total_tokens, usage.requests),
        )


@dataclass(frozen=True, slots=True)
class Hold:
    """What an admission holds on one budget: made under `definition`, in `scope`, at `slot`."""

    budget_id: str
    definition: BudgetDef
    scope: str
    slot: Slot


@dataclass(slots=True)
class OpenCall:
    """An admission not settled or released yet. `abandoned`: its worker died (nobody will settle it);
    `reclaimed`: its holds were dropped after its deadline (a live worker may still settle it)."""

    worker: int
    admission: Any
    project: str | None
    model: str
    input_tokens: int
    max_tokens: int
    amounts: Tally
    holds: tuple[Hold, ...]
    deadline: float
    abandoned: bool = False
    reclaimed: bool = False
    notes: list[str] = field(default_factory=list)


def expected(
    budget_id: str,
    definition: BudgetDef,
    events: Iterable[ModelEvent],
    calls: Iterable[OpenCall],
    now: datetime,
    *,
    include_expired: bool,
) -> dict[str, tuple[Tally, Tally]]:
    """Per scope: (spent, reserved) of one budget now, recomputed from `events` and the holds of `calls`.

    `include_expired`: count holds of calls past their deadline that are not known to be reclaimed yet (any
    process may reclaim them from then on).
    """
    out: dict[str, tuple[Tally, Tally]] = {}
    for event in events:
        scope = definition.scope_of(event.project)
        if scope is None or not visible(slot_of(definition.period, event.at), definition.period, now):
            continue
        spent, reserved = out.get(scope, (Tally(), Tally()))
        out[scope] = (spent + event.amounts, reserved)
    stamp = now.timestamp()
    for call in calls:
        if call.reclaimed or (call.deadline < stamp and not include_expired):
            continue
        for hold in call.holds:
            if hold.budget_id != budget_id or not visible(hold.slot, definition.period, now):
                continue
            spent, reserved = out.get(hold.scope, (Tally(), Tally()))
            out[hold.scope] = (spent, reserved + call.amounts)
    return out


def nonzero(states: Mapping[str, tuple[Tally, Tally]]) -> dict[str, tuple[Tally, Tally]]:
    return {k: v for k, v in states.items() if v != (Tally(), Tally())}


Shown = Mapping[str, Mapping[str, Mapping[str, tuple[int, int, int]]]]
"""What `budget status` shows: budget id -> scope -> dimension -> (limit, spent, reserved)."""
Expected = Mapping[str, Mapping[str, tuple[Tally, Tally]]]
"""Budget id -> scope -> (spent, reserved), from `expected`."""


def check_status(
    budgets: Mapping[str, BudgetDef], shown: Shown, low: Expected, high: Expected, now: datetime
) -> None:
    """Assert that every budget shows its limits, spent = the recomputation, and reserved between `low`
    (holds past their deadline reclaimed) and `high` (not reclaimed yet)."""
    assert set(shown) == set(budgets), f"status lists {sorted(shown)}, budgets are {sorted(budgets)}"
    for budget_id, definition in budgets.items():
        rows = shown[budget_id]
        scopes = set(nonzero(high[budget_id])) | {
            s for s, dims in rows.items() if any(v[1] or v[2] for v in dims.values())
        }
        for scope in sorted(scopes):
            spent, least = low[budget_id].get(scope, (Tally(), Tally()))
            _, most = high[budget_id].get(scope, (Tally(), Tally()))
            for dimension, limit in definition.limits().items():
                got_limit, got_spent, got_reserved = rows.get(scope, {}).get(dimension, (limit, 0, 0))
                where = f"budget {budget_id} ({definition}) scope {scope} {dimension} at {now}"
                assert got_limit == limit, f"{where}: limit {got_limit}, expected {limit}"
                assert got_spent == spent.of(dimension), (
                    f"{where}: spent {got_spent}, the ledger says {spent.of(dimension)}"
                )
                assert least.of(dimension) <= got_reserved <= most.of(dimension), (
                    f"{where}: reserved {got_reserved}, open admissions hold "
                    f"{least.of(dimension)}..{most.of(dimension)}"
                )
