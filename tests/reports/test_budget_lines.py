"""The budget lines of a report (`engine_lines`): for a budget scoped per value, its `per_budget` most used
values, chosen before any line is built, are exactly the first lines of the whole list of that budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.reports.budget_view import BudgetLine, engine_lines
from costwarden.views.reader import aggregator_of
from costwarden.warden import Warden

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """
budgets:
  - {id: day, name: Day, period: day, cost_usd: 10}
  - {id: per-session, name: Session, scope: session, period: total, cost_usd: 0.05}
  - {id: per-project, scope: project, period: month, requests: 6}
"""


def _ranked(lines: list[BudgetLine], per_budget: int) -> list[BudgetLine]:
    grouped: dict[str, list[BudgetLine]] = {}
    for line in lines:
        grouped.setdefault(line.id, []).append(line)
    return [line for group in grouped.values() for line in group[:per_budget]]


def test_the_most_used_values_are_the_first_lines_of_all(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "costwarden.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with Warden(load_settings(path, database=sqlite_url), clock=FixedClock(NOW)) as warden:
        # 9 sessions over 4 projects; sessions 2 and 5, 3 and 7 spend alike (ties ranked by name)
        spend = {1: 100, 2: 900, 3: 400, 4: 50, 5: 900, 6: 1200, 7: 400, 8: 10, 9: 700}
        for n, tokens in spend.items():
            for call in range(1 + n % 3):
                warden.record(
                    provider="openai",
                    model="gpt-4o",
                    input_tokens=tokens * 10,
                    output_tokens=tokens,
                    session=f"s-{n}",
                    project=f"p-{n % 4}",
                    occurred_at=NOW - timedelta(minutes=10 * n + call),
                )
        aggregator = aggregator_of(warden)
        with aggregator.snapshot():
            every = engine_lines(warden.budgets, aggregator, NOW, None)
            assert every is not None
            for per_budget in (0, 1, 3, 4, 20):
                assert engine_lines(warden.budgets, aggregator, NOW, per_budget) == _ranked(every, per_budget)
    sessions = [line for line in every if line.id == "per-session"]
    assert len(sessions) == 9 and len({line.percent_used for line in sessions}) < 9  # ties were ranked
    names = [line.name for line in sessions]
    assert names.index("Session [session=s-2]") < names.index("Session [session=s-5]"), names
