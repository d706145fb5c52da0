"""The alert outbox: every alert bound for a channel (webhook, Slack, email) as a row in the database, written
in the transaction that records the alert, and delivered from there with retries.

The protocol and its value types; the SQL store is `costwarden.storage.sql.outbox_store.SqlOutbox` (tables
`alert_outbox`, `alert_attempts`, `alert_channels`, `alert_channel_health`). Times are epoch seconds at the
edges (the deliverer's clock) and microseconds in storage.

A row's life: `pending` (due at `next_attempt_at`; a deliverer leases it before sending, so two deliverers
do not send it at once) -> `delivered`, or `failed` (not delivered within the retry window), or
`suppressed` (held back by the channel's rate limit). Every attempt is one row of `alert_attempts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from costwarden.storage.budgets import AlertRecord

__all__ = [
    "DELIVERY_STATES",
    "NewDelivery",
    "Delivery",
    "Attempt",
    "HealthChange",
    "ChannelHealth",
    "SavedChannel",
    "Outbox",
]

DELIVERY_STATES: tuple[str, ...] = ("pending", "delivered", "failed", "suppressed")

HealthChange = Literal["failing", "recovered"] | None
"""What an attempt changed about its channel: it just became failing (this caller raises the alert, no
other), it just recovered after having been reported failing, or nothing to report."""


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One alert bound for one channel; `message_id` is its idempotency key (the `webhook-id`)."""

    channel: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the outbox with its alert."""

    id: int
    message_id: str
    channel: str
    alert: AlertRecord
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at sending a delivery (or the decision not to: `outcome` `suppressed`, `gave up`)."""

    delivery_id: int
    attempt: int
    at: datetime
    ok: bool
    outcome: str
    detail: str | None = None
    duration_ms: int = 0
    worker: str = ""


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """A channel's consecutive failed attempts, since when, and whether it was reported failing."""

    failures: int
    failing_since: datetime | None
    reported: bool


@dataclass(frozen=True, slots=True)
class SavedChannel:
    """A channel set from the CLI (`costwarden alert set --webhook ...`): its name and config mapping."""

    name: str
    definition: Mapping[str, Any]
    updated: float = 0.0


class Outbox(Protocol):
    """Where alerts wait for their channels, the log of every attempt, and channels set from the CLI."""

    def claim(
        self,
        *,
        now: float,
        owner: str,
        lease: float,
        channels: Sequence[str],
        limit: int = 50,
        message_ids: Sequence[str] | None = None,
    ) -> list[Delivery]:
        """Lease up to `limit` pending deliveries of `channels` that are due at `now` and not leased by
        another deliverer (only these `message_ids` when given), oldest first, until `now + lease`."""
        ...

    def finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        status: str,
        next_attempt_at: float | None = None,
        failing_after: int | None = None,
    ) -> HealthChange:
        """Log `attempt` and move the delivery to `status` (`pending` again with `next_attempt_at` for a
        retry), releasing its lease, in one transaction. With `failing_after`, the attempt also counts
        for the channel's health: consecutive failures reaching it make the channel `failing` (returned
        to exactly one caller), a success after that `recovered`."""
        ...

    def delivered_since(self, channel: str, since: float) -> int:
        """How many deliveries of `channel` were delivered at or after `since`."""
        ...

    def suppressed_since_delivered(self, channel: str) -> int:
        """How many deliveries of `channel` the rate limit held back since its last delivered one."""
        ...

    def deliveries(
        self,
        *,
        limit: int = 50,
        channel: str | None = None,
        status: str | None = None,
        alert_id: int | None = None,
    ) -> list[Delivery]:
        """Deliveries, newest first."""
        ...

    def attempts(self, delivery_ids: Sequence[int]) -> list[Attempt]:
        """The attempts of these deliveries, oldest first."""
        ...

    def backlog(self) -> dict[str, dict[str, int]]:
        """Per channel, how many deliveries are in each state."""
        ...

    def health(self) -> dict[str, ChannelHealth]:
        """Per channel that has had an attempt: its consecutive failures and since when it fails."""
        ...

    def abandon(self, channel: str, reason: str) -> int:
        """Mark every pending delivery of `channel` failed (the channel was removed); returns how many."""
        ...

    def saved_channels(self) -> list[SavedChannel]: ...

    def save_channel(self, channel: SavedChannel) -> None: ...

    def remove_channel(self, name: str) -> bool: ...
