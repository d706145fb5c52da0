"""What every log importer shares: finding files, reading new complete lines in constant memory,
remembering how far each file was read (in the ledger database), and recording events in batches.

A file is read from where the last import stopped, and only up to its last complete line (a line still
being written is left for next time). If a file shrank or its first bytes changed, it was replaced or
rewritten: it is read again from the start; event ids are deterministic, so nothing is counted twice.
Offsets are stored after the events before them were recorded, so a crash re-reads, never skips.

One bad line never stops an import: a line that cannot be read, a value that cannot be stored (see
`costwarden.importers.values`), a line longer than `max_line_bytes` (skipped without being held in memory)
or a file that cannot be read is counted as malformed with its file and line, logged (logger
`costwarden.importers`), and the import goes on with the next line and file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from costwarden.core.usage import UsageEvent
from costwarden.errors import ValidationError
from costwarden.importers.values import Malformed, check_storable
from costwarden.ledger.capture_store import FileOffset, SqlOffsetStore, engine_of
from costwarden.ledger.codec import encode_event
from costwarden.warden import Warden

__all__ = [
    "FileOffset",
    "OffsetStore",
    "MemoryOffsetStore",
    "offsets_for",
    "Malformed",
    "MalformedLine",
    "DEFAULT_MAX_LINE_BYTES",
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
DEFAULT_MAX_LINE_BYTES = 32 << 20
"""Longest log line read (32 MiB, the largest request the providers accept); longer ones are skipped."""
_LISTED = 1000  # malformed lines listed (and logged) per import, beyond that only counted

logger = logging.getLogger("costwarden.importers")

# Errors a line's content can provoke while it is parsed or its event built: the line is malformed.
_LINE_ERRORS = (Malformed, ValidationError, ValueError, ArithmeticError, RecursionError)


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """One skipped line (`line` None: the whole file) and why."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


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
    malformed_at: list[MalformedLine] = field(default_factory=list)
    """The first malformed lines (up to 1,000 per import); `malformed` counts them all."""

    def skip(self, file: Path | str, line: int | None, reason: object) -> None:
        """Count one malformed line (or unreadable file), list and log it."""
        self.malformed += 1
        if len(self.malformed_at) < _LISTED:
            entry = MalformedLine(str(file), line, str(reason) or type(reason).__name__)
            self.malformed_at.append(entry)
            logger.warning("skipped malformed line %s", entry)
        elif len(self.malformed_at) == _LISTED and self.malformed == _LISTED + 1:
            logger.warning("more malformed lines: counted, not listed")

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
        self.malformed_at.extend(other.malformed_at[: max(0, _LISTED - len(self.malformed_at))])


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


def read_new_lines(
    path: Path, start: int, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[bytes | None, int, int]]:
    """`(line, offset, end)` for each complete line from byte `start`; an unterminated last line is left.

    A line longer than `max_line_bytes` is yielded as `None` (its bytes are passed over, never held)."""
    with path.open("rb") as handle:
        handle.seek(start)
        position = start  # file offset of `block[0]`
        line_start = start
        parts: list[bytes] = []  # the current line's bytes from earlier blocks
        held = 0
        skipping = False  # the current line is already too long
        while True:
            block = handle.read(_READ_BLOCK)
            if not block:
                return
            begin = 0
            while True:
                newline = block.find(b"\n", begin)
                if newline < 0:
                    break
                end = position + newline + 1
                if skipping or held + newline - begin > max_line_bytes:
                    yield None, line_start, end
                elif parts:
                    yield b"".join(parts) + block[begin:newline], line_start, end
                else:
                    yield block[begin:newline], line_start, end
                parts, held, skipping = [], 0, False
                begin = newline + 1
                line_start = end
            if not skipping and begin < len(block):
                rest = len(block) - begin
                if held + rest > max_line_bytes:
                    parts, held, skipping = [], 0, True
                else:
                    parts.append(block[begin:] if begin else block)
                    held += rest
            position += len(block)


def _resume(
    store: OffsetStore, parser: LineParser, path: Path
) -> tuple[int, dict[str, Any], FileOffset | None]:
    key = str(path.resolve())
    known = store.get(parser.source, key)
    size = path.stat().st_size
    if known is None or size < known.position or fingerprint(path, known.position) != known.fingerprint:
        return 0, parser.new_state(path), None
    return known.position, dict(known.state or parser.new_state(path)), known


def _built(
    warden: Warden, stats: ImportStats, path: Path, batch: dict[str, tuple[int, Callable[[], UsageEvent]]]
) -> list[UsageEvent]:
    """The batch's events, each checked to be storable; the others counted as malformed."""
    events: list[UsageEvent] = []
    for line, build in batch.values():
        try:
            events.append(check_storable(build()))
        except _LINE_ERRORS as exc:
            stats.skip(path, line, exc)
    return events


def _record(
    warden: Warden, stats: ImportStats, path: Path, lines: list[int], events: list[UsageEvent]
) -> None:
    """Record `events` (read from `lines` of `path`); an event the ledger refuses (a cost too large to
    store, say) is counted as malformed and the others are recorded."""
    try:
        stats.add_events(warden.record_many(events))
        return
    except ValidationError:
        pass  # nothing was written: find the events that cannot be stored
    kept: list[UsageEvent] = []
    for line, event in zip(lines, events, strict=True):
        try:
            encode_event(warden.price(event), 0)
        except _LINE_ERRORS as exc:
            stats.skip(path, line, exc)
        else:
            kept.append(event)
    stats.add_events(warden.record_many(kept))


def _import_file(
    warden: Warden,
    store: OffsetStore,
    parser: LineParser,
    path: Path,
    *,
    batch_size: int,
    max_line_bytes: int,
    progress: Callable[[int], None] | None,
) -> ImportStats:
    stats = ImportStats(files=1)
    key = str(path.resolve())
    position, state, known = _resume(store, parser, path)
    stat = path.stat()
    if known is not None and known.position == stat.st_size:
        return stats
    stats.files_read = 1
    batch: dict[str, tuple[int, Callable[[], UsageEvent]]] = {}
    lines = known.lines if known is not None else 0
    done = position

    def flush() -> None:
        nonlocal batch
        if batch:
            line_of = {event_id: line for event_id, (line, _) in batch.items()}
            events = _built(warden, stats, path, batch)
            _record(warden, stats, path, [line_of[event.id] for event in events], events)
            batch = {}
        try:
            head = fingerprint(path, done)
        except OSError:
            return  # unreadable now: read again next time (event ids are stable)
        store.put(
            FileOffset(
                source=parser.source,
                path=key,
                position=done,
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                fingerprint=head,
                lines=lines,
                state=state,
            )
        )

    try:
        for line, offset, end in read_new_lines(path, position, max_line_bytes):
            lines += 1
            stats.lines += 1
            if line is None:
                stats.skip(
                    path, lines, f"line of {end - offset - 1:,} bytes is longer than {max_line_bytes:,}"
                )
            elif line.strip():
                try:
                    records = parser.parse(line, offset, state)
                except _LINE_ERRORS as exc:
                    stats.skip(path, lines, exc)
                    records = []
                for event_id, build in records:
                    stats.records += 1
                    batch.pop(event_id, None)  # the last snapshot of an id wins (and moves to the end)
                    batch[event_id] = (lines, build)
            if progress is not None:
                progress(end - done)
            stats.bytes_read += end - done
            done = end
            if len(batch) >= batch_size:
                flush()
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        stats.skip(path, lines + 1, f"cannot read on: {exc.strerror or exc}")
    flush()
    return stats


def import_files(
    warden: Warden,
    parser: LineParser,
    files: Sequence[Path],
    *,
    batch_size: int = 2000,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    progress: Callable[[int], None] | None = None,
    offsets: OffsetStore | None = None,
) -> ImportStats:
    """Import the new lines of `files`; returns what was read and recorded. Never stops at a bad line or
    an unreadable file: they are counted in `malformed` and listed in `malformed_at`."""
    store = offsets if offsets is not None else offsets_for(warden.ledger)
    total = ImportStats()
    for path in files:
        try:
            stats = _import_file(
                warden,
                store,
                parser,
                path,
                batch_size=batch_size,
                max_line_bytes=max_line_bytes,
                progress=progress,
            )
        except FileNotFoundError:
            continue  # gone since it was listed
        except OSError as exc:
            stats = ImportStats(files=1)
            stats.skip(path, None, f"cannot read the file: {exc.strerror or exc}")
        total.merge(stats)
    parser.finish(warden)
    return total


def pending_bytes(parser: LineParser, files: Sequence[Path], offsets: OffsetStore) -> int:
    """Bytes not yet imported (for a progress bar)."""
    total = 0
    for path in files:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        known = offsets.get(parser.source, str(path.resolve()))
        total += size - known.position if known is not None and known.position <= size else size
    return total


def env_paths(variable: str) -> list[Path]:
    """Paths from a comma-separated environment variable (empty entries ignored, `~` expanded)."""
    raw = os.environ.get(variable, "")
    return [Path(part.strip()).expanduser() for part in raw.split(",") if part.strip()]
