"""Exporting events: every field of every event in a range, streamed as CSV, a JSON array or JSON lines.

Records come from a serializer (`event_to_json`, the documented event schema, for the CLI and the API);
nested values (tags, the cost breakdown) become JSON text in CSV cells. Nothing is held in memory
beyond one event.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from costwarden.core.usage import ATTRIBUTION_FIELDS, UsageEvent
from costwarden.reports.formats import money

__all__ = ["EXPORT_FORMATS", "write_events", "event_to_json"]

EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "jsonl")

Serializer = Callable[[UsageEvent], Mapping[str, Any]]


def event_to_json(event: UsageEvent) -> dict[str, Any]:
    """The event as a JSON-ready dict (schema documented in docs/cli.md)."""
    cost = event.cost
    out: dict[str, Any] = {
        "id": event.id,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "provider": event.provider,
        "model": event.model,
        "given_provider": event.names_given[0],
        "given_model": event.names_given[1],
        "provider_response_id": event.provider_response_id,
        "provider_request_id": event.provider_request_id,
        "given_id": event.given_id,
    }
    out.update(event.usage.as_dict())
    for name in ATTRIBUTION_FIELDS:
        out[name] = getattr(event.attribution, name)
    out["tags"] = dict(event.attribution.tags)
    out.update(
        {
            "source": event.source.value,
            "status": event.status.value,
            "duration_ms": event.duration_ms,
            "service_tier": event.service_tier,
            "provider_cost": money(event.provider_cost) if event.provider_cost is not None else None,
            "cost": money(cost.total) if cost else None,
            "cost_source": cost.source.value if cost else None,
            "price_ref": cost.price_ref if cost else None,
            "cost_breakdown": {k: money(v) for k, v in cost.slices.items()} if cost else {},
        }
    )
    return out


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return value


def write_events(events: Iterable[UsageEvent], fmt: str, out: TextIO, serialize: Serializer) -> int:
    """Write `events` to `out` in `fmt`; returns how many were written."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose {', '.join(EXPORT_FORMATS)}")
    count = 0
    if fmt == "csv":
        writer: Any = None
        for event in events:
            record = serialize(event)
            if writer is None:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(list(record))
            writer.writerow([_cell(v) for v in record.values()])
            count += 1
        if writer is None:
            sample = serialize(UsageEvent.create(provider="-", model="-", id="-"))
            csv.writer(out, lineterminator="\n").writerow(list(sample))
        return count
    if fmt == "jsonl":
        for event in events:
            out.write(json.dumps(serialize(event), ensure_ascii=False) + "\n")
            count += 1
        return count
    out.write("[")
    for event in events:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(serialize(event), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
