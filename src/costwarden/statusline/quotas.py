"""The statusline's quota segment from the subscription plans (config `subscriptions:`): each window's
percentage used, as `costwarden quota report` computes it (`costwarden.quotas.usage`): the provider's
newest reading while it is current, else the plan's events counted against the window's limit.

`plan_windows` is the full way (the Warden's readings and ledger); it also gives a `WindowQuery` per window
for the snapshot, which `quota_figures` runs on the SQLite file with the standard library only.

Labels: a rolling window is named by its length (`5h`, `7d`) unless two of the plan's windows would share
it, any other window by its name; with several plans each label starts with the plan's account (or, on
the default account, its preset, else its name, else its provider).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from costwarden.core.money import from_units
from costwarden.core.quota_percent import fraction_now, is_current, percent_of, share_of, used_fraction
from costwarden.statusline.queries import run_query
from costwarden.statusline.render import QuotaFigure
from costwarden.statusline.snapshot import WindowQuery

if TYPE_CHECKING:
    from costwarden.quotas.plans import SubscriptionConfig, WindowConfig
    from costwarden.reports.aggregate import Aggregator
    from costwarden.warden import Warden

__all__ = ["plan_windows", "quota_figures", "window_labels"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86400
_HOUR = 3600
_LATEST = (
    "SELECT observed_at, quota_limit, remaining, used, utilization, reset_at FROM quota_readings"
    " WHERE provider = ? AND account = ? AND window_name = ?"
    " ORDER BY observed_at DESC, source DESC LIMIT 1"
)
"""The newest reading of one window (two sources at the same microsecond: the last by source name, as
`SqlQuotaStore.latest_readings`)."""


def _short(window: WindowConfig) -> str:
    seconds = window.reset.seconds
    if window.reset.kind == "rolling" and seconds > 0 and seconds == int(seconds):
        if seconds % _DAY == 0:
            return f"{int(seconds) // _DAY}d"
        if seconds % _HOUR == 0:
            return f"{int(seconds) // _HOUR}h"
    return window.name


def window_labels(plan: SubscriptionConfig, several: bool) -> list[str]:
    """The label of each of the plan's windows (see the module docstring)."""
    shorts = [_short(w) for w in plan.windows]
    labels = [s if shorts.count(s) == 1 else w.name for s, w in zip(shorts, plan.windows, strict=True)]
    if not several:
        return labels
    prefix = plan.account if plan.account != "default" else (plan.plan or plan.name or plan.provider)
    return [f"{prefix} {label}" for label in labels]


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def plan_windows(
    warden: Warden, aggregator: Aggregator, at: datetime
) -> tuple[tuple[QuotaFigure, ...], list[WindowQuery], list[tuple[datetime, datetime]]]:
    """Every known window of the configured plans at `at` (inside the aggregator's snapshot), the query
    of every window for the snapshot, and the fixed windows' bounds (the snapshot holds inside them)."""
    from costwarden.quotas.usage import window_bounds, window_usage
    from costwarden.statusline.queries import conditions, sums_query
    from costwarden.storage.ledger import EventQuery, where_values
    from costwarden.views.reader import filters_of

    plans = warden.settings.subscriptions
    if not plans:
        return (), [], []
    latest = {(r.provider, r.account, r.window): r for r in warden.quotas.readings()}
    until = at + timedelta(microseconds=1)  # an event at this very moment counts
    figures: list[QuotaFigure] = []
    queries: list[WindowQuery] = []
    bounds: list[tuple[datetime, datetime]] = []
    for plan in plans:
        tz = plan.tz(warden.settings.tz)
        where = filters_of(warden, plan.match())
        match = [(name, where_values(value)) for name, value in where.items()]
        for window, label in zip(plan.windows, window_labels(plan, len(plans) > 1), strict=True):
            reading = latest.get((plan.provider, plan.account, window.reading)) if window.reading else None
            start, end = window_bounds(window, at, tz)
            rolling_us = round(window.reset.seconds * 1_000_000) if window.reset.kind == "rolling" else None
            totals = None
            query = None
            if window.unit != "percent":
                totals = aggregator.total(EventQuery(start=start, end=until, where=where))
                fixed_start = None if rolling_us is not None else start
                query = sums_query(conditions(match), fixed_start, None, rolling_us, to_now=True)
            usage = window_usage(window, at, tz, reading=reading, totals=totals)
            if usage.percent is not None:
                figures.append(QuotaFigure(label, usage.percent))
            if start is not None and end is not None:
                bounds.append((start, end))
            queries.append(
                WindowQuery(
                    label=label,
                    provider=plan.provider,
                    account=plan.account,
                    reading=window.reading,
                    unit=window.unit,
                    limit=None if window.limit is None else str(window.limit),
                    start=None if start is None or rolling_us is not None else _micros(start),
                    rolling_us=rolling_us,
                    query=query,
                )
            )
    return tuple(figures), queries, bounds


def _reading_percent(conn: sqlite3.Connection, window: WindowQuery, now_us: int) -> Decimal | None:
    """The percent the window's newest reading says at `now_us`, when it is current and says one."""
    row = conn.execute(_LATEST, (window.provider, window.account, window.reading)).fetchone()
    if row is None:
        return None
    observed_us, limit, remaining, used, utilization, reset_us = row
    at = _EPOCH + timedelta(microseconds=now_us)
    if window.rolling_us is not None:
        start_us: int | None = now_us - window.rolling_us
    else:
        start_us = window.start
    start = None if start_us is None else _EPOCH + timedelta(microseconds=start_us)
    if not is_current(_EPOCH + timedelta(microseconds=observed_us), start, at):
        return None
    reset = None if reset_us is None else _EPOCH + timedelta(microseconds=reset_us)
    fraction = fraction_now(
        used_fraction(None if utilization is None else float(utilization), limit, used, remaining), reset, at
    )
    return None if fraction is None else percent_of(fraction)


def _counted(window: WindowQuery, sums: tuple[int, int, int]) -> Decimal:
    cost, tokens, requests = sums
    if window.unit in ("requests", "messages"):
        return Decimal(requests)
    if window.unit == "tokens":
        return Decimal(tokens)
    return from_units(cost)


def quota_figures(
    conn: sqlite3.Connection, windows: list[WindowQuery], now_us: int
) -> tuple[QuotaFigure, ...]:
    """The snapshot's windows at `now_us` (in the caller's read transaction)."""
    out: list[QuotaFigure] = []
    for window in windows:
        percent = _reading_percent(conn, window, now_us) if window.reading is not None else None
        if percent is None and window.query is not None:
            limit = None if window.limit is None else Decimal(window.limit)
            percent = share_of(_counted(window, run_query(conn, window.query, now_us)), limit)
        if percent is not None:
            out.append(QuotaFigure(window.label, percent))
    return tuple(out)
