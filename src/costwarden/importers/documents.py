"""Whole-file log formats: one JSON document per file (a legacy Gemini CLI session, an OpenCode message, an
Amp thread) or a database (OpenCode's `opencode.db`), read whole by a `DocumentParser`.

A file is read again only when its stamp changed (`DocumentParser.stamp`: its size and modification time,
and those of its companions such as a database's write-ahead log); the stamp is kept in the ledger database
beside the line importers' offsets. Event ids come from the tool's own ids (message, part, thread), so a
file read again or rewritten never counts an event twice, and a later snapshot of a message replaces the
earlier one. A parser may keep per-file state between imports (a database's high-water mark, say).

A file that is not a document of the format is counted as malformed (with no line); a record inside it that
cannot be read is counted as malformed with where it is in the file (`messages[3]: ...`), and the others
are imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from costwarden.core.usage import UsageEvent
from costwarden.importers.common import (
    LINE_ERRORS,
    FileOffset,
    LedgerTarget,
    NothingToFinish,
    OffsetStore,
    offsets_for,
)
from costwarden.importers.stats import ImportStats
from costwarden.importers.values import check_storable
from costwarden.warden import Warden

__all__ = [
    "DocumentRecord",
    "Document",
    "DocumentParser",
    "WholeFile",
    "built",
    "file_stamp",
    "import_documents",
]


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One usage record of a document: where it is (`messages[3]`), its event id and its builder."""

    where: str
    event_id: str
    build: Callable[[], UsageEvent]


@dataclass
class Document:
    """What a parser read from one file: its records, the records it could not read, and how many it
    looked at (counted as the summary's lines)."""

    records: list[DocumentRecord] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    items: int = 0

    def add(self, where: str, event_id: str, build: Callable[[], UsageEvent]) -> None:
        self.records.append(DocumentRecord(where, event_id, build))

    def problem(self, where: str, reason: object) -> None:
        self.problems.append((where, str(reason) or type(reason).__name__))


@runtime_checkable
class DocumentParser(Protocol):
    """One whole-file format."""

    source: str

    def stamp(self, path: Path) -> str:
        """What changes when the file must be read again (see `file_stamp`)."""
        ...

    def read(self, path: Path, state: dict[str, Any]) -> Document:
        """The records of one file; `state` is kept between imports (JSON-serialisable) and may be updated.
        Raises `Malformed` when the file is not a document of the format."""
        ...

    def finish(self, warden: Warden) -> None:
        """Called once after an import pass."""
        ...


def built(event: UsageEvent) -> Callable[[], UsageEvent]:
    """A builder of an event already built (where the format needs the event to know its id)."""
    return lambda: event


def file_stamp(*paths: Path) -> str:
    """`size:mtime_ns` of each path that exists (`-` for one that does not), joined by `;`."""
    parts: list[str] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            parts.append("-")
        else:
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return ";".join(parts)


class WholeFile(NothingToFinish):
    """For a whole-file parser that reads a file again when its size or modification time changes."""

    def stamp(self, path: Path) -> str:
        return file_stamp(path)


def _import_document(
    target: LedgerTarget, store: OffsetStore, parser: DocumentParser, path: Path, batch_size: int
) -> ImportStats:
    stats = ImportStats(files=1)
    key = str(path.resolve())
    known = store.get(parser.source, key)
    stamp = parser.stamp(path)
    if known is not None and known.fingerprint == stamp:
        return stats
    stat = path.stat()
    state = dict(known.state or {}) if known is not None else {}
    stats.files_read = 1
    stats.bytes_read = stat.st_size
    try:
        document = parser.read(path, state)
    except LINE_ERRORS as exc:
        stats.skip(path, None, exc)
        document = Document()
    stats.lines = document.items
    for where, reason in document.problems:
        stats.skip(path, None, f"{where}: {reason}")
    batch: dict[str, DocumentRecord] = {}
    for record in document.records:
        stats.records += 1
        batch.pop(record.event_id, None)  # the last snapshot of an id wins
        batch[record.event_id] = record
    records = list(batch.values())
    for start in range(0, len(records), batch_size):
        events: list[UsageEvent] = []
        for record in records[start : start + batch_size]:
            try:
                events.append(check_storable(record.build()))
            except LINE_ERRORS as exc:
                stats.skip(path, None, f"{record.where}: {exc}")
        lines: Sequence[int | None] = [None] * len(events)
        target.record(stats, path, lines, events)
    store.put(
        FileOffset(
            source=parser.source,
            path=key,
            position=stat.st_size,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            fingerprint=stamp,
            lines=document.items,
            state=state,
        )
    )
    return stats


def import_documents(
    warden: Warden,
    parser: DocumentParser,
    files: Sequence[Path],
    *,
    batch_size: int = 2000,
    offsets: OffsetStore | None = None,
) -> ImportStats:
    """Import the files that changed since the last import (see the module docstring)."""
    store = offsets if offsets is not None else offsets_for(warden)
    target = LedgerTarget(warden)
    total = ImportStats()
    for path in files:
        try:
            stats = _import_document(target, store, parser, path, batch_size)
        except FileNotFoundError:
            continue  # gone since it was listed
        except OSError as exc:
            stats = ImportStats(files=1)
            stats.skip(path, None, f"cannot read the file: {exc.strerror or exc}")
        total.merge(stats)
    parser.finish(warden)
    return total
