"""Where one run of the model-based budget test (test_budget_model.py) takes place: a fresh database per
example (a SQLite file, or a PostgreSQL schema dropped afterwards), the Redis URL (each ledger's counters
live in their own namespace), the Claude Code logs it imports, and a tally of what happened."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from costwarden.budgets import BudgetEngine
from costwarden.testing import agent_logs
from costwarden.warden import Warden

__all__ = ["ClaudeMessage", "World", "engine_of"]


@dataclass
class World:
    """One backend: a fresh database (and Redis namespace) per example, and what ran."""

    backend: str
    tmp: Path
    pg_server: str | None = None
    redis_url: str | None = None
    examples: int = 0
    steps: int = 0
    seen: Counter[str] = field(default_factory=Counter)
    """What happened, by kind (admitted, refused, reclaimed, ...): shown at the end of a run."""
    schemas: list[str] = field(default_factory=list)

    def database(self, n: int) -> str:
        """A new, empty database for example `n`."""
        if self.pg_server is None:
            return f"sqlite:///{self.tmp / f'ledger-{n}.db'}"
        import psycopg

        schema = f"cw_model_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.pg_server, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        separator = "&" if "?" in self.pg_server else "?"
        return f"{self.pg_server}{separator}options={quote(f'-csearch_path={schema}')}"

    def drop(self) -> None:
        """Drop the PostgreSQL schemas made so far."""
        if self.pg_server is None:
            return
        import psycopg

        with psycopg.connect(self.pg_server, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            while self.schemas:
                conn.execute(f'DROP SCHEMA "{self.schemas.pop()}" CASCADE')

    def summary(self) -> str:
        seen = ", ".join(f"{n} {kind}" for kind, n in sorted(self.seen.items()))
        return f"{self.backend}: {self.examples} examples, {self.steps} steps ({seen})"


@dataclass
class ClaudeMessage:
    """One assistant message of a Claude Code session log, as streamed so far (`output` tokens)."""

    path: Path
    session: str
    project: str
    message_id: str
    request_id: str
    at: str
    output: int

    INPUT = 2000

    @property
    def event_id(self) -> str:
        return f"claude-code:{self.message_id}:{self.request_id}"

    def line(self, output: int) -> str:
        """A streaming snapshot of the message with `output` tokens so far."""
        return agent_logs.claude_assistant(
            message_id=self.message_id,
            request_id=self.request_id,
            at=self.at,
            output=output,
            session=self.session,
            cwd=f"/home/dev/{self.project}",
            model="claude-sonnet-4-5",
            input_tokens=self.INPUT,
            cache_read=0,
            write_5m=0,
        )

    def lines(self) -> list[str]:
        """The snapshots Claude Code writes while it streams: a partial one, then the final one."""
        return [self.line(n) for n in sorted({max(1, self.output // 3), self.output})]


def engine_of(warden: Warden) -> BudgetEngine:
    """A worker's budget engine."""
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine
