"""The deliverer: takes due rows from the outbox, sends each over its channel and writes down how it went.

One pass (`deliver_due`) leases one due row at a time (so a deliverer that dies mid-send blocks nothing
for longer than a lease), and for it:

- a channel over its rate limit: the row is `suppressed` (kept, and counted in the channel's next message);
- sent: `delivered`;
- failed: `pending` again, due after an exponential backoff (`initial_backoff`, doubled each time, at most
  `max_backoff`), or `failed` once the alert is older than `give_up_after`;
- every attempt is a row of `alert_attempts`; `failing_after` consecutive failures of a channel raise its
  own `channel_failing` alert (once, by whichever deliverer saw the last of them), told by the other
  channels, and its first success after that a `channel_recovered` alert.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from costwarden.clock import SYSTEM_CLOCK, Clock
from costwarden.core.channels import DeliveryConfig
from costwarden.notify.channels import Channel, ChannelBook
from costwarden.notify.message import compose
from costwarden.notify.sender import Outcome
from costwarden.storage.budgets import AlertRecord
from costwarden.storage.outbox import Attempt, Delivery, Outbox

__all__ = ["AlertSink", "Deliverer", "PassReport", "backoff"]

_log = logging.getLogger("costwarden.notify")
_LEASE_MARGIN = 30.0


class AlertSink(Protocol):
    """Where a channel's own alerts go (the budget engine's `AlertHub`: the feed, the log, the outbox)."""

    def emit(self, alert: AlertRecord) -> AlertRecord | None: ...


def backoff(attempt: int, config: DeliveryConfig) -> float:
    """Seconds before the retry that follows failed attempt number `attempt` (1-based)."""
    return float(min(config.max_backoff, config.initial_backoff * 2 ** min(attempt - 1, 40)))


@dataclass
class PassReport:
    """What one pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)
    """(channel, message id, outcome) of each attempt."""

    @property
    def attempts(self) -> int:
        return self.delivered + self.retrying + self.failed + self.suppressed


class Deliverer:
    """Delivers the outbox of one database over the channels of `book`."""

    def __init__(
        self,
        outbox: Outbox,
        book: ChannelBook,
        *,
        config: DeliveryConfig | None = None,
        sink: AlertSink | None = None,
        clock: Clock = SYSTEM_CLOCK,
        name: str | None = None,
    ) -> None:
        self.outbox = outbox
        self.book = book
        self.config = config if config is not None else book.alerts.delivery
        self.sink = sink
        self.clock = clock
        """The deliverer's wall clock: due times, backoff and the retry window (the system clock unless a
        test moves it)."""
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"

    def _worker(self) -> str:
        return f"{self.name}:{threading.get_ident()}"

    def deliver_due(
        self,
        *,
        message_ids: list[str] | None = None,
        limit: int = 1000,
        stop: threading.Event | None = None,
    ) -> PassReport:
        """Deliver what is due now (only these `message_ids` when given), at most `limit` rows; returns
        early when `stop` is set (the row in flight is finished first)."""
        report = PassReport()
        channels = self.book.channels()
        owner = self._worker()
        while report.attempts < limit and not (stop is not None and stop.is_set()):
            lease = max((c.config.timeout for c in channels.values()), default=10.0) * 3 + _LEASE_MARGIN
            claimed = self.outbox.claim(
                now=self.clock(),
                owner=owner,
                lease=lease,
                channels=list(channels),
                limit=1,
                message_ids=message_ids,
            )
            if not claimed:
                break
            for delivery in claimed:
                self._deliver(channels[delivery.channel], delivery, report)
        return report

    def _attempt(self, delivery: Delivery, outcome: Outcome, started: float, took: float) -> Attempt:
        return Attempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts + 1,
            at=datetime.fromtimestamp(started, UTC),
            ok=outcome.ok,
            outcome=outcome.outcome,
            detail=outcome.detail,
            duration_ms=int(took * 1000),
            worker=self._worker(),
        )

    def _deliver(self, channel: Channel, delivery: Delivery, report: PassReport) -> None:
        now = self.clock()
        limit = channel.config.rate_limit
        suppressed = 0
        if limit is not None:
            if self.outbox.delivered_since(channel.name, now - limit.per) >= limit.count:
                outcome = Outcome(False, "suppressed", f"rate limit {limit.spelled} reached")
                self.outbox.finish(delivery, self._attempt(delivery, outcome, now, 0.0), status="suppressed")
                report.suppressed += 1
                report.outcomes.append((channel.name, delivery.message_id, "suppressed"))
                return
            suppressed = self.outbox.suppressed_since_delivered(channel.name)
        message = compose(delivery.message_id, delivery.alert, suppressed)
        started = time.monotonic()
        try:
            outcome = channel.sender.send(message)
        except Exception as exc:  # a sender bug must not stop the deliverer
            outcome = Outcome(False, "error", f"{type(exc).__name__} while sending")
            _log.exception("alert channel %r raised while sending", channel.name)
        took = time.monotonic() - started
        attempt = self._attempt(delivery, outcome, now, took)
        done = max(now, self.clock())  # waits count from the end of the attempt (it may take a timeout)
        report.outcomes.append((channel.name, delivery.message_id, outcome.outcome))
        failing_after = self.config.failing_after
        if outcome.ok:
            change = self.outbox.finish(delivery, attempt, status="delivered", failing_after=failing_after)
            report.delivered += 1
        else:
            age = done - delivery.created_at.timestamp()
            wait = backoff(attempt.attempt, self.config)
            if age + wait > self.config.give_up_after:
                change = self.outbox.finish(delivery, attempt, status="failed", failing_after=failing_after)
                report.failed += 1
                _log.error(
                    "alert %s to channel %r not delivered after %d attempts, given up: %s",
                    delivery.message_id,
                    channel.name,
                    attempt.attempt,
                    outcome.detail or outcome.outcome,
                )
            else:
                change = self.outbox.finish(
                    delivery,
                    attempt,
                    status="pending",
                    next_attempt_at=done + wait,
                    failing_after=failing_after,
                )
                report.retrying += 1
                _log.warning(
                    "alert %s to channel %r failed (attempt %d: %s); next try in %.0fs",
                    delivery.message_id,
                    channel.name,
                    attempt.attempt,
                    outcome.detail or outcome.outcome,
                    wait,
                )
        if change is not None:
            self._tell(channel, change, outcome)

    def _tell(self, channel: Channel, change: str, outcome: Outcome) -> None:
        """Raise the channel's own alert (`channel_failing` / `channel_recovered`)."""
        if self.sink is None:
            return
        failing = change == "failing"
        if failing:
            message = (
                f"Alert channel {channel.name!r} ({channel.type}) is failing: "
                f"{self.config.failing_after} attempts in a row did not get through "
                f"(last: {outcome.outcome}{': ' + outcome.detail if outcome.detail else ''}). "
                "Its alerts stay in the outbox and are retried; see "
                f"`costwarden alert deliveries --channel {channel.name}`."
            )
        else:
            message = f"Alert channel {channel.name!r} ({channel.type}) delivers again."
        alert = AlertRecord(
            kind="channel_failing" if failing else "channel_recovered",
            at=datetime.fromtimestamp(self.clock(), UTC),
            budget_id="",
            scope=f"channel={channel.name}",
            period_key="",
            dimension="requests",
            level="critical" if failing else "info",
            message=message,
            details={"channel": channel.name, "type": channel.type, "unit": "alerts"},
        )
        try:
            self.sink.emit(alert)
        except Exception:
            _log.exception("could not raise the alert of channel %r", channel.name)
