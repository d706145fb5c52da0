"""The delivery worker: one background thread that delivers the outbox while a long-running process lives
(`costwarden serve`, `costwarden alert deliver --watch`). It wakes at once when this process raises an
alert, and every `poll` seconds for alerts other processes raised and retries that fall due."""

from __future__ import annotations

import logging
import threading

from costwarden.notify.deliverer import Deliverer

__all__ = ["DeliveryWorker"]

_log = logging.getLogger("costwarden.notify")


class DeliveryWorker:
    """Runs `deliverer.deliver_due()` in a daemon thread until `stop()`."""

    def __init__(self, deliverer: Deliverer, *, poll: float = 1.0) -> None:
        if not poll > 0:
            raise ValueError("poll must be positive")
        self.deliverer = deliverer
        self.poll = poll
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    def start(self) -> DeliveryWorker:
        if self._thread is not None:
            raise RuntimeError("this delivery worker was already started")
        self._thread = threading.Thread(target=self._run, name="costwarden-delivery", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Deliver now (an alert was just enqueued)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the send in flight and stop; what is still pending stays in the outbox. Idempotent."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                _log.warning("the delivery worker did not stop within %.0fs (a send still runs)", timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.deliverer.deliver_due(stop=self._stop)
            except Exception:
                _log.exception("alert delivery pass failed; trying again in %.0fs", self.poll)
            self._wake.wait(self.poll)
