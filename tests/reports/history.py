"""A constructed history for report tests, and an oracle that sums it in plain Python (shared with the CLI
tests as `reports.history`)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from costwarden.core.usage import CostBreakdown, CostSource, UsageEvent
from costwarden.reports.aggregate import event_key
from costwarden.storage.ledger import Totals
from costwarden.storage.totals import add_totals, event_totals, sort_rows

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
PROJECTS = ("backend-api", "frontend", "data", None)
AGENTS = ("feature-dev", "bugfix-dev", "clarifier", "builder")
MODELS = (
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-1"),
    ("openai", "gpt-5"),
    ("local", "llama3"),
)
UTC_ZONE = ZoneInfo("UTC")


def priced(event: UsageEvent, units: int, source: CostSource = CostSource.COMPUTED) -> UsageEvent:
    total = Decimal(units).scaleb(-10)
    slices = {"input": total * 3 / 10, "output": total * 7 / 10} if source is CostSource.COMPUTED else {}
    return event.with_cost(CostBreakdown(total=total, source=source, slices=slices, price_ref="test 1"))


def make_history(count: int = 1500, days: int = 430, seed: int = 7, end: datetime = NOW) -> list[UsageEvent]:
    """`count` priced events spread over the `days` before `end` (plus a dense last two days), with
    unpriced and failed calls, tags, and events without project or session."""
    rnd = random.Random(seed)
    out: list[UsageEvent] = []
    for i in range(count):
        if i % 5 == 0:
            at = end - timedelta(seconds=rnd.randint(1, 2 * 86400))
        else:
            at = end - timedelta(seconds=rnd.randint(1, days * 86400))
        at = at.replace(microsecond=rnd.randint(0, 999_999))
        provider, model = MODELS[rnd.randrange(len(MODELS))]
        tags = {"team": rnd.choice(("red", "blue"))} if rnd.random() < 0.6 else {}
        event = UsageEvent.create(
            id=f"h-{i:05d}",
            provider=provider,
            model=model,
            occurred_at=at,
            input_tokens=rnd.randint(0, 50_000),
            cache_read_tokens=rnd.choice((0, 0, rnd.randint(1, 80_000))),
            cache_write_tokens=rnd.choice((0, 0, 0, rnd.randint(1, 5_000))),
            output_tokens=rnd.randint(1, 4_000),
            project=PROJECTS[rnd.randrange(len(PROJECTS))],
            agent=rnd.choice(AGENTS),
            session=f"s-{rnd.randint(1, 60):03d}" if rnd.random() < 0.9 else None,
            run=f"r-{rnd.randint(1, 200):03d}",
            user=rnd.choice(("ana", "bo")),
            tags=tags,
            status="error" if rnd.random() < 0.05 else ("cancelled" if rnd.random() < 0.02 else "ok"),
        )
        unpriced = model == "llama3" and rnd.random() < 0.5
        units = rnd.randint(1, 3 * 10**9) if not unpriced else 10_000_000
        out.append(priced(event, units, CostSource.UNPRICED if unpriced else CostSource.COMPUTED))
    return out


def snapshots(events: Sequence[UsageEvent], seed: int = 3) -> list[UsageEvent]:
    """Later, bigger snapshots of some events (some moved to another hour or model)."""
    rnd = random.Random(seed)
    out = []
    for event in rnd.sample(list(events), k=len(events) // 10):
        usage = replace(event.usage, output_tokens=event.usage.output_tokens + rnd.randint(1, 500))
        moved = replace(
            event,
            usage=usage,
            occurred_at=event.occurred_at + timedelta(minutes=rnd.choice((0, 1, 90))),
            model=rnd.choice((event.model, "gpt-5-mini")),
        )
        out.append(priced(moved, int(event.cost_total.scaleb(10)) + rnd.randint(1, 10**6)))
    return out


def latest(events: Iterable[UsageEvent]) -> list[UsageEvent]:
    """What the ledger holds after appending `events` in order: per id the highest snapshot."""
    kept: dict[str, UsageEvent] = {}
    for event in events:
        have = kept.get(event.id)
        if have is None or event.snapshot_key() > have.snapshot_key():
            kept[event.id] = event
    return list(kept.values())


def oracle(
    events: Iterable[UsageEvent],
    group_by: Sequence[str] = (),
    tz: ZoneInfo = UTC_ZONE,
    start: datetime | None = None,
    end: datetime | None = None,
    where: dict[str, str | None] | None = None,
) -> list[Totals]:
    """Sums of `events` computed one by one (the truth reports must match)."""
    merged: dict[tuple[str | None, ...], Totals] = {}
    for event in events:
        if start is not None and event.occurred_at < start:
            continue
        if end is not None and event.occurred_at >= end:
            continue
        if where and any(event_key(event, (k,), tz)[0] != v for k, v in where.items()):
            continue
        key = event_key(event, group_by, tz)
        row = event_totals(event, key)
        merged[key] = row if key not in merged else add_totals(merged[key], row, key)
    if not group_by and not merged:
        from costwarden.storage.totals import empty_totals

        return [empty_totals()]
    positions = [i for i, k in enumerate(group_by) if k in ("hour", "day", "month")]
    return sort_rows(merged.values(), positions)
