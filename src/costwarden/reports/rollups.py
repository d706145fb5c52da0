"""Rollups: hourly, daily and monthly sums of the ledger, and how a report range is split between them.

Every event's contribution lives in exactly one rollup row at a time: first in an *hourly* row (UTC hour,
written in the same transaction as the event, replacements applied as a difference); `costwarden maintain`
later folds hourly rows older than the detailed retention into *daily* rows (local days of the configured
timezone) and daily rows older than the daily retention into *monthly* rows. So the sum of every rollup row
inside a range equals the sum of the range's events, as long as no row straddles the range's bounds.

A report range `[start, end)` is answered as

    [start, ceil_hour(start))  from events      (a partial hour; needs the events to be retained)
    [ceil_hour, floor_hour)    from rollups     (whole hours; must not cut a daily or monthly row)
    [floor_hour(end), end)     from events

and raises `NotResolvable` when a part needs detail that retention has already removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from costwarden.reports.periods import ceil_hour, floor_hour, utc_iso
from costwarden.storage.rollups import Coverage, NotResolvable, RollupSource

__all__ = ["Segment", "plan_segments"]

_MIN = datetime(1970, 1, 1, tzinfo=UTC)
_MAX = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of a report range and where its sums come from."""

    start: datetime
    end: datetime
    source: Literal["events", "rollups"]


def _check_events(start: datetime, coverage: Coverage) -> None:
    horizon = coverage.events_before
    if horizon is not None and start < horizon:
        raise NotResolvable(
            f"events before {utc_iso(horizon)} are kept only as rollups; "
            f"{utc_iso(start)} is not on an hour boundary of them (choose whole hours or days)"
        )


def plan_segments(
    start: datetime | None, end: datetime | None, coverage: Coverage, straddles: RollupSource | None = None
) -> list[Segment]:
    """Split `[start, end)` into event and rollup segments (see the module docstring).

    Open bounds (None) are whole-hour by definition. Raises `NotResolvable` when a bound cuts a folded row
    or a partial hour lies before the events retention horizon.
    """
    lo = start if start is not None else _MIN
    hi = end if end is not None else _MAX
    a = ceil_hour(lo) if start is not None else lo
    b = floor_hour(hi) if end is not None else hi
    if a >= b:
        _check_events(lo, coverage)
        return [Segment(lo, hi, "events")]
    if straddles is not None:
        for cut, bounded in ((a, start is not None), (b, end is not None)):
            if bounded and straddles.straddles(cut):
                raise NotResolvable(
                    f"{utc_iso(cut)} falls inside a day or month kept only as a daily or monthly total; "
                    "choose a range on day (or month) boundaries"
                )
    segments: list[Segment] = []
    if lo < a:
        _check_events(lo, coverage)
        segments.append(Segment(lo, a, "events"))
    segments.append(Segment(a, b, "rollups"))
    if b < hi:
        _check_events(b, coverage)
        segments.append(Segment(b, hi, "events"))
    return segments
