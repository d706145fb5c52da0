"""What every log importer shares: finding files, reading new complete lines in constant memory,
remembering how far each file was read (in the ledger database), and recording events in batches.

A file is read from where the last import stopped, and only up to its last complete line (a line still
being written is left for next time). If a file shrank or its first bytes changed, it was replaced or
rewritten: it is read again from the start; event ids are deterministic, so nothing is counted twice.
Offsets are stored after the events before them were recorded, so a crash re-reads, never skips.

A large import of many files on a ledger other processes can open (a SQLite file, PostgreSQL) is shared with
a forked worker process (`costwarden.importers.parallel`) when the parser allows it (`LineParser.parallel`):
each process reads its own files and writes its own batches; the ledger keeps the highest snapshot of each
id whichever process writes it, so the result is the same as one process's.

One bad line never stops an import: a line that cannot be read, a value that cannot be stored (see
`costwarden.importers.values`), a line longer than `max_line_bytes` (skipped without being held in memory)
or a file that cannot be read is counted as malformed with its file and line, logged (logger
`costwarden.importers`), and the import goes on with the next line and file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from costwarden.core.money import from_units
from costwarden.core.usage import UsageEvent
from costwarden.errors import ValidationError
from costwarden.importers.stats import ImportStats, MalformedLine
from costwarden.importers.values import Malformed, check_storable
from costwarden.storage.codec import encode_event, to_micros
from costwarden.storage.offsets import FileOffset, MemoryOffsetStore, OffsetStore, StoredSnapshot
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
    "import_group",
    "pending_bytes",
    "env_paths",
    "LedgerTarget",
    "built_events",
    "LINE_ERRORS",
    "NothingToFinish",
]

_FINGERPRINT_BYTES = 1024
_READ_BLOCK = 1 << 20
DEFAULT_MAX_LINE_BYTES = 32 << 20
"""Longest log line read (32 MiB, the largest request the providers accept); longer ones are skipped."""
# Errors a line's content can provoke while it is parsed or its event built: the line is malformed.
LINE_ERRORS = (Malformed, ValidationError, ValueError, ArithmeticError, RecursionError)


def offsets_for(warden: Warden) -> OffsetStore:
    """Where `warden` keeps how far each file was imported (`Backend.offsets`): a table in its database,
    or memory tied to a `MemoryLedger`."""
    return warden.backend.offsets


Record = tuple[str, Callable[[], UsageEvent]]
"""An event id and a function building the event (built only for the last snapshot of each id)."""


@runtime_checkable
class LineParser(Protocol):
    """One log format: turns a complete line into usage records (or none).

    A parser whose `finish` needs nothing that `parse` gathered may say so with a class attribute
    `parallel = True`: its files may then be read by several processes."""

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


class NothingToFinish:
    """For a parser that gathers nothing to act on after an import pass."""

    def finish(self, warden: Warden) -> None:
        """Nothing to do."""


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


def built_events(
    stats: ImportStats, path: Path, batch: dict[str, tuple[int, Callable[[], UsageEvent]]]
) -> list[UsageEvent]:
    """The batch's events, each checked to be storable; the others counted as malformed."""
    events: list[UsageEvent] = []
    for line, build in batch.values():
        try:
            events.append(check_storable(build()))
        except LINE_ERRORS as exc:
            stats.skip(path, line, exc)
    return events


class LedgerTarget:
    """Where an import writes: the warden, what the ledger already holds, and the retention horizon."""

    def __init__(self, warden: Warden) -> None:
        self.warden = warden
        self.horizon = warden.backend.retention_horizon()

    def stored(self, ids: list[str]) -> dict[str, StoredSnapshot]:
        return self.warden.backend.stored_snapshots(ids)

    def record(
        self, stats: ImportStats, path: Path, lines: Sequence[int | None], events: list[UsageEvent]
    ) -> None:
        """Record `events` (read from `lines` of `path`) and count what the ledger took. An event the ledger
        refuses (a cost too large to store, say) is counted as malformed and the others are recorded
        (`lines`: None for records of whole-file formats)."""
        if self.horizon is not None:
            kept = [i for i, event in enumerate(events) if event.occurred_at >= self.horizon]
            stats.older_than_retention += len(events) - len(kept)
            stats.retention_horizon = self.horizon
            lines, events = [lines[i] for i in kept], [events[i] for i in kept]
        if not events:
            return
        stored = self.stored([event.id for event in events])
        try:
            priced = self.warden.record_many(events)
        except ValidationError:  # nothing was written: find the events that cannot be stored
            kept_events: list[UsageEvent] = []
            for line, event in zip(lines, events, strict=True):
                try:
                    encode_event(self.warden.price(event), 0)
                except LINE_ERRORS as exc:
                    stats.skip(path, line, exc)
                else:
                    kept_events.append(event)
            priced = self.warden.record_many(kept_events)
        for event in priced:
            before = stored.get(event.id)
            if before is None:
                stats.written(event.model, event.cost_total, new=True)
            elif (event.usage.total_tokens, to_micros(event.occurred_at)) > (
                before.total_tokens,
                before.occurred_at,
            ):
                stats.written(event.model, event.cost_total - from_units(before.cost_units), new=False)
            else:
                stats.unchanged += 1


def _import_file(
    target: LedgerTarget,
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
            events = built_events(stats, path, batch)
            target.record(stats, path, [line_of[event.original_id] for event in events], events)
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
                except LINE_ERRORS as exc:
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
    processes: int | None = None,
) -> ImportStats:
    """Import the new lines of `files`; returns what was read and what the ledger took (see
    `ImportStats`). Never stops at a bad line or an unreadable file: they are counted in `malformed` and
    listed in `malformed_at`. Events older than the retention horizon are refused and counted.

    `processes`: None reads the files in two processes when that pays (`parallel.worth_sharing`), 1 in
    this process only, 2 in two whenever the ledger and the parser allow it."""
    from costwarden.importers.parallel import import_shared, worth_sharing

    store = offsets if offsets is not None else offsets_for(warden)
    target = LedgerTarget(warden)

    def run(group: Sequence[Path], advance: Callable[[int], None] | None) -> ImportStats:
        sizes = {"batch_size": batch_size, "max_line_bytes": max_line_bytes}
        return import_group(target, store, parser, group, progress=advance, **sizes)

    if worth_sharing(warden, parser, files, store, processes):
        total = import_shared(run, files, store, parser, progress)
    else:
        total = run(files, progress)
    parser.finish(warden)
    return total


def import_group(
    target: LedgerTarget,
    store: OffsetStore,
    parser: LineParser,
    files: Sequence[Path],
    *,
    batch_size: int,
    max_line_bytes: int,
    progress: Callable[[int], None] | None,
) -> ImportStats:
    """`import_files` of `files` in this process (without `parser.finish`)."""
    total = ImportStats()
    for path in files:
        try:
            stats = _import_file(
                target,
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
