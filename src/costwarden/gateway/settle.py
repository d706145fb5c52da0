"""Where settlements run: on a worker thread of their own when the storage is a database, so the event
loop goes on forwarding calls while an event is written (SQLite and PostgreSQL writes take a few hundred
microseconds; in memory they are cheaper than a hand-over). Settlements run in the order they come, and
closing waits for the pending ones."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Settler"]

log = logging.getLogger("costwarden.gateway")

_STOP = object()


class Settler:
    """Runs settlement functions inline (`threaded=False`) or in order on one worker thread."""

    def __init__(self, *, threaded: bool) -> None:
        self.threaded = threaded
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `function(*args, **kwargs)` now (inline) or soon (threaded); failures are logged."""
        if not self.threaded:
            _run(function, args, kwargs)
            return
        if self._thread is None:
            self._start()
        self._queue.put((function, args, kwargs))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="costwarden-settle", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            function, args, kwargs = item
            _run(function, args, kwargs)

    def close(self, timeout: float = 30.0) -> None:
        """Wait for the pending settlements (at most `timeout` seconds) and stop the worker."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)


def _run(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        function(*args, **kwargs)
    except Exception:  # a failed write is logged; the reservation expires (admission.reservation_ttl)
        log.exception("could not record a call")
