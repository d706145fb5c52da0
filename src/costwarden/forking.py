"""Fork safety: a child process never inherits a lock that another thread of its parent was holding.

`fork()` copies a process with only the thread that called it. Whatever the other threads held at that
instant stays held in the child, by nobody: a SQLite file lock that a connection of the parent was in the
middle of (the child then waits on "database is locked" forever), the WAL checkpointer thread's
connection, a pool's lock, a Redis connection half-way through a reply. So, around every fork:

- before: new SQLite transactions wait, and the fork waits (up to `FORK_WAIT` seconds) until those in
  flight, the background WAL checkpoint included, are done (`ForkGate`);
- after, in the parent: everything carries on;
- after, in the child: every registered object drops what it shared with the parent and opens its own on
  next use (connection pools, Redis connections, locks, the checkpointer thread), so a worker process can
  keep using the Warden it inherited.

Registration is lazy: nothing is hooked into `os.register_at_fork` until the first object asks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Final, Protocol

__all__ = ["FORK_WAIT", "ForkAware", "ForkGate", "ForkSafeLock", "after_fork_in_child", "fork_gate"]

FORK_WAIT: Final = 10.0
"""Seconds a fork waits for SQLite transactions in flight before it goes ahead regardless."""

_log = logging.getLogger("costwarden.forking")


class ForkAware(Protocol):
    def after_fork_in_child(self) -> None:
        """Drop what is shared with the parent (connections, locks, threads); reopen lazily."""
        ...


class ForkGate:
    """Counts the database work in flight in this process and holds forks until it is done."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active: dict[int, int] = {}  # thread id -> work in flight
        self._forking = False
        self._forker: int | None = None

    def enter(self) -> None:
        """Start one piece of work (a checked-out connection, a checkpoint); waits while a fork runs."""
        me = threading.get_ident()
        with self._cond:
            while self._forking and self._forker != me and me not in self._active:
                self._cond.wait()
            self._active[me] = self._active.get(me, 0) + 1

    def exit(self) -> None:
        me = threading.get_ident()
        with self._cond:
            left = self._active.get(me, 0) - 1
            if left > 0:
                self._active[me] = left
            else:
                self._active.pop(me, None)
            if not self._active:
                self._cond.notify_all()
        # a connection checked in from another thread than the one that checked it out: count it there
        if left < 0:
            self._drop_any()

    def _drop_any(self) -> None:
        with self._cond:
            for ident, count in list(self._active.items()):
                if count > 1:
                    self._active[ident] = count - 1
                else:
                    del self._active[ident]
                break
            if not self._active:
                self._cond.notify_all()

    @contextmanager
    def held(self) -> Iterator[None]:
        self.enter()
        try:
            yield
        finally:
            self.exit()

    def in_flight(self) -> int:
        with self._cond:
            return sum(self._active.values())

    def before_fork(self) -> None:
        """Wait for the work of other threads to finish; keep the gate closed across the fork."""
        me = threading.get_ident()
        self._cond.acquire()
        self._forking = True
        self._forker = me
        deadline = time.monotonic() + FORK_WAIT
        while any(ident != me for ident in self._active):
            left = deadline - time.monotonic()
            if left <= 0:
                _log.warning(
                    "forking while %d database call(s) of other threads are still running",
                    self.in_flight_locked(),
                )
                break
            self._cond.wait(left)

    def in_flight_locked(self) -> int:
        return sum(self._active.values())

    def after_fork_in_parent(self) -> None:
        self._forking = False
        self._forker = None
        self._cond.notify_all()
        self._cond.release()

    def after_fork_in_child(self) -> None:
        """The child has one thread and none of the parent's work: a fresh gate."""
        self._reset()


_GATE = ForkGate()
_objects: weakref.WeakSet[ForkAware] = weakref.WeakSet()
_registered = False
_registering = threading.Lock()


def _before() -> None:
    _GATE.before_fork()


def _after_in_parent() -> None:
    _GATE.after_fork_in_parent()


def _after_in_child() -> None:
    _GATE.after_fork_in_child()
    for obj in list(_objects):
        try:
            obj.after_fork_in_child()
        except Exception:  # one object's trouble must not stop the others from resetting
            _log.exception("resetting %r after fork failed", obj)


def _register() -> None:
    global _registered
    if _registered:
        return
    with _registering:
        if not _registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=_before, after_in_parent=_after_in_parent, after_in_child=_after_in_child
            )
            _registered = True


def fork_gate() -> ForkGate:
    """The process's gate (hooked into `os.register_at_fork` on first use)."""
    _register()
    return _GATE


def after_fork_in_child(obj: ForkAware) -> None:
    """Call `obj.after_fork_in_child()` in every forked child while `obj` lives (held weakly)."""
    _register()
    _objects.add(obj)


class ForkSafeLock:
    """A lock (reentrant when asked) that is free in a forked child even if a thread of the parent held it
    at the fork: the child gets a new one while it is still single-threaded. Use it for any lock of an
    object a forked worker may keep using (a ledger, a store, an alert hub)."""

    __slots__ = ("__weakref__", "_lock", "_reentrant")

    def __init__(self, *, reentrant: bool = False) -> None:
        self._reentrant = reentrant
        self._lock = self._new()
        after_fork_in_child(self)

    def _new(self) -> threading.Lock | threading.RLock:
        return threading.RLock() if self._reentrant else threading.Lock()

    def after_fork_in_child(self) -> None:
        self._lock = self._new()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()
