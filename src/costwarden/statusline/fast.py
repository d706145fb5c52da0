"""The fast way to the figures: a snapshot still holds and the transcript has nothing new, so a few indexed
queries on the SQLite ledger answer, with the standard library only (no SQLAlchemy, pydantic or Typer).

Returns None whenever anything does not hold; the caller then takes the full way, which is always right.
"""

from __future__ import annotations

import hashlib
import sqlite3
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from costwarden.core.money import from_units
from costwarden.statusline.payload import Payload
from costwarden.statusline.queries import run_query
from costwarden.statusline.quotas import quota_figures
from costwarden.statusline.render import BudgetFigure, Figures
from costwarden.statusline.snapshot import (
    Identity,
    Snapshot,
    config_signature,
    load_snapshot,
)
from costwarden.statusline.transcripts import session_files

__all__ = ["fast_figures", "budget_signature", "folded", "connect_read_only"]

_SOURCE = "claude-code"
_FINGERPRINT_BYTES = 1024


def connect_read_only(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA query_only = 1")
    return conn


def budget_signature(conn: sqlite3.Connection) -> str:
    """What changes whenever a budget is set, changed or removed from the CLI."""
    count, newest = conn.execute(
        "SELECT count(*), coalesce(max(updated_at), 0) FROM budget_definitions"
    ).fetchone()
    meta = conn.execute("SELECT name, value FROM budget_meta ORDER BY name").fetchall()
    return f"{count}:{newest}:" + "|".join(f"{name}={value}" for name, value in meta)


def folded(conn: sqlite3.Connection) -> bool:
    """Whether retention has folded events into rollups (the raw events no longer hold every figure)."""
    row = conn.execute(
        "SELECT count(*) FROM rollup_state WHERE events_before IS NOT NULL OR hourly_before IS NOT NULL"
    ).fetchone()
    return bool(row[0])


def _imported(conn: sqlite3.Connection, files: list[Path]) -> bool:
    """Whether every file was read to its end by the last import (same offset, same first bytes)."""
    for path in files:
        try:
            size = path.stat().st_size
            key = str(path.resolve())
        except OSError:
            return False
        row = conn.execute(
            "SELECT position, fingerprint FROM import_offsets WHERE source = ? AND path = ?", (_SOURCE, key)
        ).fetchone()
        if row is None or row[0] != size:
            return False
        try:
            with path.open("rb") as handle:
                head = handle.read(min(size, _FINGERPRINT_BYTES))
        except OSError:
            return False
        if f"{len(head)}:{hashlib.sha1(head).hexdigest()}" != row[1]:
            return False
    return True


def figures_from(conn: sqlite3.Connection, snapshot: Snapshot, payload: Payload, now_us: int) -> Figures:
    """The figures at `now_us` from the snapshot's queries (the plans' windows only when Claude Code sent
    none of its own)."""
    own = payload.five_hour if payload.five_hour is not None else payload.seven_day
    today = run_query(conn, snapshot.today, now_us)
    session = run_query(conn, snapshot.session, now_us) if snapshot.session is not None else None
    budgets: list[BudgetFigure] = []
    for budget in snapshot.budgets:
        cost, tokens, requests = run_query(conn, budget.query, now_us)
        used = {"cost": from_units(cost), "tokens": Decimal(tokens), "requests": Decimal(requests)}
        budgets.append(
            BudgetFigure(
                name=budget.name,
                unit=budget.unit,
                used=used[budget.dimension],
                limit=Decimal(budget.limit),
                thresholds=tuple(Decimal(t) for t in budget.thresholds),
            )
        )
    return Figures(
        session_cost=from_units(session[0]) if session is not None else None,
        today_cost=from_units(today[0]),
        budgets=budgets,
        model=payload.model_name or payload.model_id,
        session_id=snapshot.identity.session,
        claude_cost=payload.cost_usd,
        five_hour=payload.five_hour,
        seven_day=payload.seven_day,
        quotas=quota_figures(conn, snapshot.quotas, now_us) if own is None else (),
    )


def fast_figures(
    payload: Payload,
    identity: Identity,
    config: str | None,
    transcript: str | None,
    now_us: int,
    *,
    importing: bool = True,
) -> Figures | None:
    """The figures without the Warden, or None when the snapshot does not hold or the transcript has new
    lines to import."""
    snapshot = load_snapshot(identity)
    if snapshot is None or not snapshot.valid_from <= now_us < snapshot.valid_until:
        return None
    if snapshot.config != config_signature(config):
        return None
    if not Path(snapshot.sqlite).is_file():
        return None
    try:
        conn = connect_read_only(snapshot.sqlite)
    except sqlite3.Error:
        return None
    try:
        if budget_signature(conn) != snapshot.budget_defs or folded(conn):
            return None
        if importing and not _imported(conn, session_files(transcript)):
            return None
        conn.execute("BEGIN")  # one read snapshot for every figure
        return figures_from(conn, snapshot, payload, now_us)
    except sqlite3.Error:
        return None
    finally:
        conn.close()
