"""The full way to the figures: the configured Warden imports the session's new transcript lines (the
offsets `costwarden import claude-code` keeps), then the ledger and the budget views give every figure.
On a SQLite ledger it leaves a `Snapshot` for the fast way."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from costwarden.statusline.payload import Payload
from costwarden.statusline.queries import conditions, sums_query
from costwarden.statusline.quotas import plan_windows
from costwarden.statusline.render import BudgetFigure, Figures
from costwarden.statusline.snapshot import (
    MAX_AGE_S,
    BudgetQuery,
    Identity,
    Snapshot,
    WindowQuery,
    config_signature,
    save_snapshot,
)
from costwarden.statusline.transcripts import session_files

__all__ = ["full_figures"]

_DIMENSIONS = ("cost", "tokens", "requests")


def _budgets(
    aggregator: Any, policies: list[Any], now: datetime, tz: Any, values: dict[str, str | None] | None
) -> tuple[list[BudgetFigure], list[BudgetQuery], list[tuple[datetime, datetime]]]:
    """Every cost, token and request limit of the budgets that count this session (all budgets without
    one), its query for the snapshot, and the calendar windows they used."""
    from costwarden.core.periods import PeriodKind
    from costwarden.core.units import amount
    from costwarden.reports.budget_view import budget_states, used_of

    figures: list[BudgetFigure] = []
    queries: list[BudgetQuery] = []
    windows: list[tuple[datetime, datetime]] = []
    for state in budget_states(aggregator, policies, now, tz, values=values):
        policy = state.policy
        kind = policy.period.kind
        rolling_us = round(policy.period.seconds * 1_000_000) if kind is PeriodKind.ROLLING else None
        if state.start is not None and state.end is not None:
            windows.append((state.start, state.end))
        match = [
            *policy.match,
            *((name, (value,)) for name, value in zip(policy.per, state.key, strict=True)),
        ]
        query = sums_query(conditions(match), state.start, state.end, rolling_us)
        thresholds = tuple(t.percent for t in policy.thresholds)
        for dimension in _DIMENSIONS:
            limit_units = state.limits.of(dimension)
            if limit_units is None:
                continue
            unit = state.unit(dimension)
            figure = BudgetFigure(
                name=state.label,
                unit=unit.value,
                used=used_of(state.used, dimension),
                limit=amount(unit, limit_units),
                thresholds=thresholds,
            )
            figures.append(figure)
            queries.append(
                BudgetQuery(
                    name=figure.name,
                    unit=figure.unit,
                    dimension=dimension,
                    limit=str(figure.limit),
                    thresholds=[str(t) for t in thresholds],
                    query=query,
                )
            )
    return figures, queries, windows


def full_figures(
    payload: Payload,
    identity: Identity,
    config: str | None,
    transcript: str | None,
    *,
    importing: bool = True,
) -> Figures:
    """Import the session's new lines (unless `importing` is False), then read every figure; may raise
    `ConfigError` (bad configuration) or another `CostwardenError`."""
    from costwarden.clock import clock_from_env
    from costwarden.config import load_settings
    from costwarden.reports.budget_view import policies_of
    from costwarden.reports.live import event_values
    from costwarden.reports.periods import named_period
    from costwarden.storage.backend import MEMORY_URL
    from costwarden.storage.codec import to_micros
    from costwarden.storage.ledger import EventQuery
    from costwarden.storage.sql.engine import ledger_url, sqlite_path
    from costwarden.views.reader import aggregator_of
    from costwarden.warden import Warden

    signature = config_signature(config)
    settings = load_settings(config, database=identity.db)
    clock = clock_from_env()
    warden = Warden(settings, clock=clock)
    try:
        files = session_files(transcript) if importing else []
        if files:
            from costwarden.importers.claude_code import ClaudeCodeParser
            from costwarden.importers.common import import_files

            import_files(warden, ClaudeCodeParser(), files)
        ledger = warden.ledger
        tz = settings.tz
        aggregator = aggregator_of(warden)
        now = clock.now()
        session = identity.session
        with aggregator.snapshot():
            today = named_period("today", now, tz)
            today_cost = aggregator.total(EventQuery(start=today.start, end=today.end)).cost
            session_cost: Decimal | None = None
            values: dict[str, str | None] | None = None
            if session is not None:
                query = EventQuery(where={"session": session})
                session_cost = aggregator.total(query).cost
                last = next(iter(ledger.events(query, limit=1, newest_first=True)), None)
                values = event_values(last) if last is not None else {"session": session}
            policies = policies_of(settings, warden)
            budgets, queries, windows = _budgets(aggregator, policies, now, tz, values)
            quotas, quota_queries, quota_bounds = plan_windows(warden, aggregator, now)
            windows += quota_bounds
            folded = aggregator.coverage().events_before is not None
        path = None
        if (settings.database or "").strip().lower() != MEMORY_URL:  # memory://: nothing to snapshot
            url = ledger_url(settings.database or "")
            path = sqlite_path(url) if url.get_backend_name() == "sqlite" else None
        if path is not None and not folded:
            windows.append((today.start, today.end))
            _save(
                identity,
                signature,
                path.resolve(),
                to_micros(now),
                windows,
                today,
                session,
                queries,
                quota_queries,
            )
    finally:
        warden.close()
    return Figures(
        session_cost=session_cost,
        today_cost=today_cost,
        budgets=budgets,
        model=payload.model_name or payload.model_id,
        session_id=session,
        claude_cost=payload.cost_usd,
        five_hour=payload.five_hour,
        seven_day=payload.seven_day,
        quotas=quotas,
    )


def _save(
    identity: Identity,
    signature: list[list[Any]],
    path: Any,
    now_us: int,
    windows: list[tuple[datetime, datetime]],
    today: Any,
    session: str | None,
    queries: list[BudgetQuery],
    quotas: list[WindowQuery],
) -> None:
    import sqlite3

    from costwarden.statusline.fast import budget_signature, connect_read_only, folded
    from costwarden.storage.codec import to_micros
    from costwarden.storage.sql.schema import field_column

    try:
        conn = connect_read_only(str(path))
        try:
            if folded(conn):
                return
            defs = budget_signature(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return
    session_query = (
        sums_query([field_column("session") == session], None, None) if session is not None else None
    )
    save_snapshot(
        Snapshot(
            identity=identity,
            config=signature,
            sqlite=str(path),
            budget_defs=defs,
            made_at=now_us,
            valid_from=max(to_micros(start) for start, _ in windows),
            valid_until=min([now_us + MAX_AGE_S * 1_000_000, *(to_micros(end) for _, end in windows)]),
            today=sums_query([], today.start, today.end),
            session=session_query,
            budgets=queries,
            quotas=quotas,
        )
    )
