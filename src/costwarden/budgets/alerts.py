"""Alerts: threshold crossings and exhaustions, recorded once in the feed and handed to notifiers.

A `Notifier` is anything with `notify(alert)`; `AlertHub` persists each alert (a threshold alert only the
first time for its budget, scope, period, dimension and threshold) and then hands the new ones to every
notifier and callback. Delivery errors are logged, never raised into the call that caused the alert.

Channels that deliver over the network (webhook, Slack, email) are `Outgoing`: the hub asks it where an
alert goes before recording it, so the alert and its outbox rows are written in one transaction (by
whichever process recorded the alert first, once), then tells it they were enqueued (see
`costwarden.notify`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from costwarden.forking import ForkSafeLock
from costwarden.storage.budgets import AlertRecord, BudgetRecords

if TYPE_CHECKING:
    from costwarden.storage.outbox import NewDelivery

__all__ = ["Notifier", "Outgoing", "LogNotifier", "CallbackNotifier", "AlertHub", "LOGGER_NAME"]

LOGGER_NAME = "costwarden.alerts"
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}
_log = logging.getLogger(LOGGER_NAME)


@runtime_checkable
class Notifier(Protocol):
    """A channel alerts are handed to after they are recorded (log, later webhook, email, ...)."""

    def notify(self, alert: AlertRecord) -> None: ...


class Outgoing(Protocol):
    """The outbox side of the hub (`costwarden.notify.Postbox`)."""

    def attach(self, hub: AlertHub) -> None:
        """Where the channels' own alerts (one failing, one recovered) are raised."""
        ...

    def route(self, alert: AlertRecord) -> Sequence[NewDelivery]:
        """The deliveries of an alert about to be recorded (one per channel that takes it)."""
        ...

    def enqueued(self, alert: AlertRecord, deliveries: Sequence[NewDelivery]) -> None:
        """The alert and its deliveries were recorded: get them sent."""
        ...

    def close(self) -> None:
        """Wait (briefly) for the sends started in this process; what is not sent stays in the outbox."""
        ...


class LogNotifier:
    """Writes each alert to the `costwarden.alerts` logger; `info`/`warning`/`critical` map to log levels,
    never below `min_level`.

    A channel below `warning` lowers the logger's level to `min_level` (Python's default drops info
    records), and when logging is not configured at all it adds a handler printing alerts on stderr, so
    `level: info` prints info alerts in a plain script or the CLI as it does under a configured logger."""

    def __init__(self, min_level: str = "warning", logger: logging.Logger | None = None) -> None:
        level = logging.getLevelName(min_level.upper())
        self.min_level: int = level if isinstance(level, int) else logging.WARNING
        self.logger = logger or _log
        if self.logger.getEffectiveLevel() > self.min_level:
            self.logger.setLevel(self.min_level)
        if self.min_level < logging.WARNING and not self.logger.hasHandlers():
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.logger.addHandler(handler)

    def notify(self, alert: AlertRecord) -> None:
        level = _LEVELS.get(alert.level, logging.WARNING)
        if level >= self.min_level:
            self.logger.log(level, "%s", alert.message)


class CallbackNotifier:
    """Calls a function with each alert."""

    def __init__(self, callback: Callable[[AlertRecord], object]) -> None:
        self.callback = callback

    def notify(self, alert: AlertRecord) -> None:
        self.callback(alert)


class AlertHub:
    """Records alerts in `records` (when given) and delivers the new ones to the notifiers."""

    def __init__(
        self,
        records: BudgetRecords | None = None,
        notifiers: Iterable[Notifier] = (),
        outgoing: Outgoing | None = None,
    ) -> None:
        self.records = records
        self._notifiers: list[Notifier] = list(notifiers)
        self._lock = ForkSafeLock()
        self.outgoing = outgoing
        """The outbox channels (None: the feed, the log and callbacks only)."""
        if outgoing is not None:
            outgoing.attach(self)

    def add(self, notifier: Notifier | Callable[[AlertRecord], object]) -> Callable[[], None]:
        """Register a notifier (or a plain callback); returns a function that unregisters it."""
        item: Notifier = notifier if isinstance(notifier, Notifier) else CallbackNotifier(notifier)
        with self._lock:
            self._notifiers = [*self._notifiers, item]

        def remove() -> None:
            with self._lock:
                self._notifiers = [n for n in self._notifiers if n is not item]

        return remove

    def emit(self, alert: AlertRecord) -> AlertRecord | None:
        """Persist and deliver; returns the stored alert, or None when this threshold was already recorded."""
        stored: AlertRecord | None = alert
        deliveries: Sequence[NewDelivery] = ()
        if self.records is not None:
            if self.outgoing is not None:
                try:
                    deliveries = self.outgoing.route(alert)
                except Exception:
                    _log.exception("could not route alert to its channels: %s", alert.message)
            try:
                if deliveries:
                    stored = self.records.add_alert(alert, deliveries)
                else:
                    stored = self.records.add_alert(alert)
            except Exception:
                _log.exception("could not record alert: %s", alert.message)
                deliveries = ()
        if stored is None:
            return None
        if deliveries and self.outgoing is not None:
            try:
                self.outgoing.enqueued(stored, deliveries)
            except Exception:
                _log.exception("could not start delivering alert: %s", alert.message)
        for notifier in self._notifiers:
            try:
                notifier.notify(stored)
            except Exception:
                _log.exception("alert notifier %r failed", notifier)
        return stored

    def close(self) -> None:
        """Let the sends this process started finish (bounded; the outbox keeps the rest)."""
        if self.outgoing is not None:
            try:
                self.outgoing.close()
            except Exception:
                _log.exception("could not finish delivering alerts")
