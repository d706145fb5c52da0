"""Exporting events: every field of every event in a range, streamed as CSV, a JSON array or JSON lines.

Records come from a serializer (the CLI passes `costwarden.cli.render.event_to_json`, the documented event
schema); nested values (tags, the cost breakdown) become JSON text in CSV cells. Nothing is held in memory
beyond one event.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from costwarden.core.usage import UsageEvent

__all__ = ["EXPORT_FORMATS", "write_events"]

EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "jsonl")

Serializer = Callable[[UsageEvent], Mapping[str, Any]]


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
