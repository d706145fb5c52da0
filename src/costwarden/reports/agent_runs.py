"""Runs per agent (seed 001's "usage by agent type"): how many distinct runs each agent made in a period,
and its average tokens and cost per run.

Only calls recorded inside a run (`run` set) count toward the per-run figures; an agent's calls outside
any run are in its totals but not in `runs`, `run_tokens` or `run_cost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costwarden.reports.aggregate import Aggregator
from costwarden.reports.formats import money
from costwarden.storage.ledger import EventQuery

__all__ = ["AgentRuns", "agent_runs"]

_UNIT = Decimal("0.0000000001")
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class AgentRuns:
    """One agent's runs in a period."""

    agent: str | None
    runs: int
    run_tokens: int
    """Tokens of the calls made inside those runs."""
    run_cost: Decimal

    @property
    def average_tokens_per_run(self) -> Decimal:
        return Decimal(0) if not self.runs else (Decimal(self.run_tokens) / self.runs).quantize(_TENTH)

    @property
    def cost_per_run(self) -> Decimal:
        return Decimal(0) if not self.runs else (self.run_cost / self.runs).quantize(_UNIT)

    def to_json(self) -> dict[str, Any]:
        """The fields a by-agent row carries: `run_count`, `average_tokens_per_run`, `cost_per_run`."""
        return {
            "run_count": self.runs,
            "average_tokens_per_run": str(self.average_tokens_per_run),
            "cost_per_run": money(self.cost_per_run),
        }


def agent_runs(aggregator: Aggregator, query: EventQuery) -> dict[str | None, AgentRuns]:
    """Every agent of the query with its runs (an agent without runs has `runs` 0)."""
    tally: dict[str | None, tuple[int, int, Decimal]] = {}
    for row in aggregator.totals(query, ("agent", "run")):
        agent, run = row.key
        runs, tokens, cost = tally.get(agent, (0, 0, Decimal(0)))
        if run is not None:
            runs, tokens, cost = runs + 1, tokens + row.total_tokens, cost + row.cost
        tally[agent] = (runs, tokens, cost)
    return {agent: AgentRuns(agent, *values) for agent, values in tally.items()}
