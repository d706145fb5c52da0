"""The hub's side of the outbox: which channels a new alert goes to (`route`, before it is recorded, so the
alert and its deliveries are written in one transaction), and who sends it once it is (`enqueued`): the
delivery worker of this process when one runs, else a background thread of this process right away
(inline delivery; `alerts.delivery.inline`), which the process waits for at exit (`inline_wait`).

Inline delivery makes one attempt per delivery. Retries are the worker's (`costwarden serve`) or
`costwarden alert deliver`'s: a process that only runs CLI commands retries when one of them runs.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Sequence

from costwarden.core.channels import LogChannelConfig
from costwarden.core.policy import AlertsConfig
from costwarden.errors import ConfigError
from costwarden.forking import after_fork_in_child
from costwarden.notify.channels import ChannelBook
from costwarden.notify.deliverer import AlertSink, Deliverer
from costwarden.notify.worker import DeliveryWorker
from costwarden.storage.budgets import AlertRecord
from costwarden.storage.outbox import NewDelivery, Outbox

__all__ = ["Postbox", "postbox_for"]

_log = logging.getLogger("costwarden.notify")
_OPEN: weakref.WeakSet[Postbox] = weakref.WeakSet()
_HOOKED = False


def _drain_all() -> None:
    for postbox in list(_OPEN):
        postbox.drain()


class Postbox:
    """Routes new alerts to channels and gets them sent."""

    def __init__(self, book: ChannelBook, outbox: Outbox) -> None:
        self.book = book
        self.outbox = outbox
        self.config = book.alerts.delivery
        self.worker: DeliveryWorker | None = None
        """The delivery worker of this process (`costwarden.notify.start_delivery`), if one runs."""
        self.sink: AlertSink | None = None
        """Where channels' own alerts go (set by the engine's hub)."""
        self._pending: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
        self._busy = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        after_fork_in_child(self)

    def after_fork_in_child(self) -> None:
        """A forked child sends its own alerts: it starts its own thread (its parent's is not there)."""
        self._pending = queue.SimpleQueue()
        self._busy = 0
        self._idle = threading.Condition()
        self._thread = None
        self.worker = None

    def attach(self, hub: AlertSink) -> None:
        self.sink = hub

    def route(self, alert: AlertRecord) -> Sequence[NewDelivery]:
        return self.book.route(alert)

    def enqueued(self, alert: AlertRecord, deliveries: Sequence[NewDelivery]) -> None:
        worker = self.worker
        if worker is not None and worker.running:
            worker.wake()
            return
        if not self.config.inline or not deliveries:
            return
        with self._idle:
            self._busy += 1
        self._pending.put([d.message_id for d in deliveries])
        self._ensure_thread()

    def deliverer(self) -> Deliverer:
        return Deliverer(self.outbox, self.book, config=self.config, sink=self.sink)

    def _ensure_thread(self) -> None:
        global _HOOKED
        with self._idle:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="costwarden-inline-delivery", daemon=True)
            self._thread.start()
            _OPEN.add(self)
            if not _HOOKED:
                _HOOKED = True
                atexit.register(_drain_all)

    def _run(self) -> None:
        deliverer = self.deliverer()
        while True:
            try:
                ids = self._pending.get(timeout=1.0)
            except queue.Empty:
                with self._idle:
                    if self._busy == 0:
                        self._thread = None
                        return
                continue
            try:
                deliverer.deliver_due(message_ids=ids, limit=len(ids))
            except Exception:
                _log.exception("inline alert delivery failed; the outbox keeps the alerts for a retry")
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def close(self) -> None:
        self.drain()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the alerts handed to the inline thread were tried (at most `timeout`, default
        `inline_wait` seconds); True when nothing is left in flight."""
        wait = self.config.inline_wait if timeout is None else timeout
        deadline = time.monotonic() + wait
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    _log.warning(
                        "%d alert deliveries still in flight at exit; the outbox keeps them for a retry",
                        self._busy,
                    )
                    return False
                self._idle.wait(left)
        return True


def postbox_for(alerts: AlertsConfig, outbox: Outbox | None) -> Postbox | None:
    """The postbox of a backend: on a database always (channels may be saved from the CLI at any time);
    without one none, and channels other than `log` in the config are a `ConfigError`."""
    if outbox is None:
        network = [c for c in alerts.channels if not isinstance(c, LogChannelConfig)]
        if network:
            first = network[0]
            raise ConfigError(
                f"the {first.type} channel {first.name or first.type!r} needs a database ledger (its "
                "outbox lives there); use a sqlite:/// or postgresql:// database",
                key="alerts.channels",
            )
        return None
    return Postbox(ChannelBook(alerts, outbox), outbox)
