"""What every log importer shares: finding files, reading new complete lines in constant memory,
remembering how far each file was read (in the ledger database), and recording events in batches.

A file is read from where the last import stopped, and only up to its last complete line (a line still
being written is left for next time). If a file shrank or its first bytes changed, it was replaced or
rewritten: it is read again from the start; event ids are deterministic, so nothing is counted twice.
Offsets are stored after the events before them were recorded, so a crash re-reads, never skips.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from costwarden.core.usage import UsageEvent
from costwarden.ledger.capture_store import FileOffset, SqlOffsetStore, engine_of
from costwarden.warden import Warden

__all__ = [
    "FileOffset",
    "OffsetStore",
    "MemoryOffsetStore",
    "offsets_for",
    "Malformed",
    "LineParser",
    "Record",
    "ImportStats",
    "find_files",
    "read_new_lines",
    "fingerprint",
    "import_files",
    "pending_bytes",
    "env_paths",
]

_FINGERPRINT_BYTES = 1024
_READ_BLOCK = 1 << 20


class Malformed(ValueError):
    """A line that cannot be read as a record of the log format (skipped and counted)."""


class OffsetStore(Protocol):
    def get(self, source: str, path: str) -> FileOffset | None: ...

    def put(self, offset: FileOffset) -> None: ...


class MemoryOffsetStore:
    """Offsets in memory (for `MemoryLedger`: one store per ledger object)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], FileOffset] = {}
        self._lock = threading.Lock()

    def get(self, source: str, path: str) -> FileOffset | None:
        return self._rows.get((source, path))

    def put(self, offset: FileOffset) -> None:
        with self._lock:
            self._rows[(offset.source, offset.path)] = offset


_MEMORY_STORES: weakref.WeakKeyDictionary[object, MemoryOffsetStore] = weakref.WeakKeyDictionary()


def offsets_for(ledger: object) -> OffsetStore:
    """The offset store of a ledger: a table in its database, or memory tied to a `MemoryLedger`."""
    engine = engine_of(ledger)
    if engine is not None:
        return SqlOffsetStore(engine)
    store = _MEMORY_STORES.get(ledger)
    if store is None:
        store = _MEMORY_STORES[ledger] = MemoryOffsetStore()
    return store


Record = tuple[str, Callable[[], UsageEvent]]
"""An event id and a function building the event (built only for the last snapshot of each id)."""


class LineParser(Protocol):
    """One log format: turns a complete line into usage records (or none)."""

    source: str

    def new_state(self, path: Path) -> dict[str, Any]:
        """Per-file state, kept between imports (JSON-serialisable)."""
        ...

    def parse(self, line: bytes, offset: int, state: dict[str, Any]) -> list[Record]:
        """Records of one line (`offset`: its byte position). Raises `Malformed` for a broken line; the
        builders may raise `Malformed` too (counted when the batch is written)."""
        ...

    def finish(self, warden: Warden) -> None:
        """Called once after an import pass (e.g. to record the newest quota seen)."""
        ...


@dataclass
class ImportStats:
    """What an import pass did."""

    files: int = 0
    files_read: int = 0
    bytes_read: int = 0
    lines: int = 0
    malformed: int = 0
    records: int = 0
    events: int = 0
    cost: Decimal = Decimal(0)
    by_model: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    malformed_at: list[str] = field(default_factory=list)

    def add_events(self, events: Sequence[UsageEvent]) -> None:
        self.events += len(events)
        for event in events:
            total = event.cost_total
            self.cost += total
            count, cost = self.by_model.get(event.model, (0, Decimal(0)))
            self.by_model[event.model] = (count + 1, cost + total)

    def merge(self, other: ImportStats) -> None:
        for name in ("files", "files_read", "bytes_read", "lines", "malformed", "records", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cost += other.cost
        for model, (count, cost) in other.by_model.items():
            old_count, old_cost = self.by_model.get(model, (0, Decimal(0)))
            self.by_model[model] = (old_count + count, old_cost + cost)
        self.malformed_at.extend(other.malformed_at[: max(0, 20 - len(self.malformed_at))])


def find_files(paths: Iterable[Path], pattern: str = "*.jsonl") -> list[Path]:
    """Files named by `paths`: files as given, directories searched recursively; sorted, no duplicates."""
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_file():
            found.setdefault(str(path.resolve()), path)
        elif path.is_dir():
            for child in path.rglob(pattern):
                if child.is_file():
                    found.setdefault(str(child.resolve()), child)
    return [found[key] for key in sorted(found)]


def fingerprint(path: Path, length: int) -> str:
    """`N:sha1` of the first `length` bytes (at most 1 KiB) of a file."""
    n = min(length, _FINGERPRINT_BYTES)
    with path.open("rb") as handle:
        head = handle.read(n)
    return f"{len(head)}:{hashlib.sha1(head).hexdigest()}"


def read_new_lines(path: Path, start: int) -> Iterator[tuple[bytes, int, int]]:
    """`(line, offset, end)` for each complete line from byte `start`; an unterminated last line is left."""
    with path.open("rb") as handle:
        handle.seek(start)
        position = start
        pending = b""
        while True:
            block = handle.read(_READ_BLOCK)
            if not block:
                return
            data = pending + block if pending else block
            begin = 0
            while True:
                newline = data.find(b"\n", begin)
                if newline < 0:
                    break
                yield data[begin:newline], position + begin, position + newline + 1
                begin = newline + 1
            position += begin
            pending = data[begin:]


def _resume(
    store: OffsetStore, parser: LineParser, path: Path
) -> tuple[int, dict[str, Any], FileOffset | None]:
    key = str(path.resolve())
    known = store.get(parser.source, key)
    size = path.stat().st_size
    if known is None or size < known.position or fingerprint(path, known.position) != known.fingerprint:
        return 0, parser.new_state(path), None
    return known.position, dict(known.state or parser.new_state(path)), known


def _import_file(
    warden: Warden,
    store: OffsetStore,
    parser: LineParser,
    path: Path,
    *,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> ImportStats:
    stats = ImportStats(files=1)
    key = str(path.resolve())
    position, state, known = _resume(store, parser, path)
    stat = path.stat()
    if known is not None and known.position == stat.st_size:
        return stats
    stats.files_read = 1
    batch: dict[str, Callable[[], UsageEvent]] = {}
    lines = known.lines if known is not None else 0
    done = position

    def flush() -> None:
        nonlocal batch
        if batch:
            events: list[UsageEvent] = []
            for event_id, build in batch.items():
                try:
                    events.append(build())
                except Malformed as exc:
                    stats.malformed += 1
                    if len(stats.malformed_at) < 20:
                        stats.malformed_at.append(f"{path}: {event_id}: {exc}")
            recorded = warden.record_many(events)
            stats.add_events(recorded)
            batch = {}
        store.put(
            FileOffset(
                source=parser.source,
                path=key,
                position=done,
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                fingerprint=fingerprint(path, done),
                lines=lines,
                state=state,
            )
        )

    for line, offset, end in read_new_lines(path, position):
        lines += 1
        stats.lines += 1
        if line.strip():
            try:
                records = parser.parse(line, offset, state)
            except Malformed as exc:
                stats.malformed += 1
                if len(stats.malformed_at) < 20:
                    stats.malformed_at.append(f"{path}:{lines}: {exc}")
                records = []
            for event_id, build in records:
                stats.records += 1
                batch.pop(event_id, None)  # the last snapshot of an id wins (and moves to the end)
                batch[event_id] = build
        if progress is not None:
            progress(end - done)
        stats.bytes_read += end - done
        done = end
        if len(batch) >= batch_size:
            flush()
    flush()
    return stats


def import_files(
    warden: Warden,
    parser: LineParser,
    files: Sequence[Path],
    *,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    offsets: OffsetStore | None = None,
) -> ImportStats:
    """Import the new lines of `files`; returns what was read and recorded."""
    store = offsets if offsets is not None else offsets_for(warden.ledger)
    total = ImportStats()
    for path in files:
        try:
            total.merge(_import_file(warden, store, parser, path, batch_size=batch_size, progress=progress))
        except FileNotFoundError:
            continue
    parser.finish(warden)
    return total


def pending_bytes(parser: LineParser, files: Sequence[Path], offsets: OffsetStore) -> int:
    """Bytes not yet imported (for a progress bar)."""
    total = 0
    for path in files:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        known = offsets.get(parser.source, str(path.resolve()))
        total += size - known.position if known is not None and known.position <= size else size
    return total


def env_paths(variable: str) -> list[Path]:
    """Paths from a comma-separated environment variable (empty entries ignored, `~` expanded)."""
    raw = os.environ.get(variable, "")
    return [Path(part.strip()).expanduser() for part in raw.split(",") if part.strip()]
