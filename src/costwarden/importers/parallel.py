"""Reading a large import's files in two processes: this one and a forked worker, each importing its own
share of the files into the same ledger, the worker's figures sent back over a pipe.

Why it is safe: each file is read by one process, its offset written by that process; the ledger keeps the
highest snapshot of an id whichever process writes it (the same message may sit in two files); writes are
transactions the database serialises (SQLite `BEGIN IMMEDIATE` with a busy timeout, PostgreSQL row locks),
budget counters and alerts included; `costwarden.forking` gives the worker its own connections. Only a
ledger both processes can open is shared (a SQLite file, PostgreSQL; never memory), and only for parsers
that say their `finish` needs nothing `parse` gathered (`parallel = True`).

Files are shared out by project (the directory under `projects/`, else the file's directory), never one
project's files between the two processes: a message copied into a resumed session or a subagent's file
sits in the same project, and it keeps the session of the file read first, as in one process, whichever
process runs faster. A message copied across projects may be attributed to either copy's session.

What differs from one process: `ImportStats.inserted` may count a message found in files of both processes
twice (the ledger holds it once); log lines of the worker are written by the worker.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

from costwarden.errors import LedgerError
from costwarden.importers.stats import ImportStats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from costwarden.importers.common import LineParser
    from costwarden.storage.offsets import OffsetStore
    from costwarden.warden import Warden

__all__ = ["SHARE_MIN_BYTES", "import_shared", "project_of", "split", "worth_sharing"]

SHARE_MIN_BYTES = 32 << 20
"""Below this many bytes to read, starting a worker costs more than it saves."""
_PROGRESS = b"P"
_RESULT = b"R"
_HEADER = struct.Struct("!cQ")
_PROGRESS_EVERY = 1 << 20

Run = Callable[[Sequence[Path], Callable[[int], None] | None], ImportStats]


def _shareable(warden: Warden, store: OffsetStore) -> bool:
    """Whether a forked worker writes to the same ledger and offsets: the ledger's own database, a
    PostgreSQL one or a SQLite file (not memory, not an in-memory SQLite database)."""
    backend = warden.backend
    if backend.kind not in ("postgresql", "sqlite"):
        return False
    from costwarden.storage.sql.capture_store import SqlOffsetStore
    from costwarden.storage.sql.engine import sqlite_path
    from costwarden.storage.sql.ledger import SqlLedger

    ledger = warden.ledger
    if not isinstance(ledger, SqlLedger) or not isinstance(store, SqlOffsetStore):
        return False
    return backend.kind == "postgresql" or sqlite_path(ledger.engine.url) is not None


def _pending(store: OffsetStore, source: str, path: Path) -> int:
    try:
        size = path.stat().st_size
        known = store.get(source, str(path.resolve()))
    except OSError:
        return 0
    return size - known.position if known is not None and known.position <= size else size


def worth_sharing(
    warden: Warden, parser: LineParser, files: Sequence[Path], store: OffsetStore, processes: int | None
) -> bool:
    """Whether to read `files` in two processes: asked for (`processes` 2 or more) or, by default (None),
    on a machine with two cores or more when at least `SHARE_MIN_BYTES` are to be read; and always only
    with two files or more to read, a parser that allows it, a ledger the worker can open, and `os.fork`."""
    if processes is not None and processes < 2:
        return False
    if len(files) < 2 or not getattr(parser, "parallel", False) or not hasattr(os, "fork"):
        return False
    if processes is None and (os.cpu_count() or 1) < 2:
        return False
    if not _shareable(warden, store):
        return False
    in_force = getattr(getattr(warden.budgets, "policies", None), "policies", None)
    if in_force:
        return False  # budget counters are derived and counted by one process, so they stay exact
    pending = [_pending(store, parser.source, path) for path in files]
    if len({project_of(path) for path, size in zip(files, pending, strict=True) if size}) < 2:
        return False  # one project or none to read: its files are read by one process
    return processes is not None or sum(pending) >= SHARE_MIN_BYTES


def project_of(path: Path) -> Path:
    """The unit never split between processes: the directory right under a `projects` directory above
    `path` (an agent's project folder, its sessions and subagents), else the file's own directory."""
    for parent in path.parents:
        if parent.parent.name == "projects":
            return parent
    return path.parent


def split(sizes: Sequence[tuple[Path, int]]) -> tuple[list[Path], list[Path]]:
    """Two groups of about the same number of bytes, a project's files all in one (largest project first,
    each to the lighter group), each group in the order given."""
    load_of: dict[Path, int] = {}
    for path, size in sizes:
        load_of[project_of(path)] = load_of.get(project_of(path), 0) + size
    loads = [0, 0]
    group_of: dict[Path, int] = {}
    for project in sorted(load_of, key=lambda unit: -load_of[unit]):
        lighter = 0 if loads[0] <= loads[1] else 1
        group_of[project] = lighter
        loads[lighter] += load_of[project]
    groups: tuple[list[Path], list[Path]] = ([], [])
    for path, _ in sizes:
        groups[group_of[project_of(path)]].append(path)
    return groups


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _worker(run: Run, files: Sequence[Path], fd: int, with_progress: bool) -> None:
    """In the forked worker: import `files`, sending progress and then the figures (or the error)."""
    pending = 0

    def advance(done: int) -> None:
        nonlocal pending
        pending += done
        if pending >= _PROGRESS_EVERY:
            _write_all(fd, _HEADER.pack(_PROGRESS, pending))
            pending = 0

    try:
        outcome: object = run(files, advance if with_progress else None)
    except BaseException as exc:  # sent back and raised by the parent
        outcome = exc
    if pending:
        _write_all(fd, _HEADER.pack(_PROGRESS, pending))
    try:
        payload = pickle.dumps(outcome)
    except Exception:
        payload = pickle.dumps(LedgerError(f"import worker failed: {outcome!r}"))
    _write_all(fd, _HEADER.pack(_RESULT, len(payload)) + payload)


class _Inbox:
    """The parent's end of the pipe: progress frames passed on as they come, then the worker's result."""

    def __init__(self, fd: int, progress: Callable[[int], None] | None) -> None:
        self.fd = fd
        self.progress = progress
        self.buffer = b""
        self.result: bytes | None = None
        self.closed = False

    def _frames(self) -> None:
        while self.result is None and len(self.buffer) >= _HEADER.size:
            kind, value = _HEADER.unpack_from(self.buffer)
            if kind == _PROGRESS:
                self.buffer = self.buffer[_HEADER.size :]
                if self.progress is not None:
                    self.progress(value)
            elif len(self.buffer) >= _HEADER.size + value:
                self.result = self.buffer[_HEADER.size : _HEADER.size + value]
            else:
                return

    def poll(self) -> None:
        """Take what the worker has sent so far, without waiting."""
        if self.closed:
            return
        os.set_blocking(self.fd, False)
        try:
            while chunk := os.read(self.fd, 1 << 16):
                self.buffer += chunk
            self.closed = True
        except BlockingIOError:
            pass
        self._frames()

    def drain(self) -> bytes | None:
        """Wait for the rest; the result frame, or None when the worker died without one."""
        os.set_blocking(self.fd, True)
        while not self.closed:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                self.closed = True
            self.buffer += chunk
            self._frames()
        self._frames()
        return self.result


def import_shared(
    run: Run,
    files: Sequence[Path],
    store: OffsetStore,
    parser: LineParser,
    progress: Callable[[int], None] | None,
) -> ImportStats:
    """Import `files` with `run`, one share in a forked worker and the other here; the figures of both."""
    mine, theirs = split([(path, _pending(store, parser.source, path)) for path in files])
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        code = 0
        try:
            os.close(read_end)
            _worker(run, theirs, write_end, progress is not None)
        except BaseException:
            code = 1
        finally:
            os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
    os.close(write_end)
    inbox = _Inbox(read_end, progress)
    try:
        polled = 0

        def advance(done: int) -> None:
            nonlocal polled
            if progress is not None:
                progress(done)
            polled += done
            if polled >= _PROGRESS_EVERY:
                polled = 0
                inbox.poll()

        own = run(mine, advance)
        result = inbox.drain()
    finally:
        os.close(read_end)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    if result is None:
        raise LedgerError("the import worker process stopped without a result; run the import again")
    outcome = pickle.loads(result)  # our own worker's figures
    if isinstance(outcome, BaseException):
        raise outcome
    if not isinstance(outcome, ImportStats):
        raise LedgerError(f"the import worker process sent {type(outcome).__name__}")
    own.merge(outcome)
    return own
