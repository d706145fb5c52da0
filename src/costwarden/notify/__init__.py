"""Alerts that reach people: webhook (signed per Standard Webhooks), Slack-compatible incoming webhooks and
email over SMTP, behind a durable outbox in the database. See docs/alerts.md.

Every alert bound for a channel is a row of the outbox, written in the transaction that records the alert
(by whichever process noticed it first, once). A delivery worker (`start_delivery`, which `costwarden
serve` runs) or `costwarden alert deliver` sends it, retrying with exponential backoff across restarts;
every attempt is logged; a channel that keeps failing raises its own alert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costwarden.notify.channels import Channel, ChannelBook
from costwarden.notify.deliverer import Deliverer, PassReport, backoff
from costwarden.notify.message import Message, alert_json, compose
from costwarden.notify.postbox import Postbox, postbox_for
from costwarden.notify.sender import Outcome, Sender
from costwarden.notify.signing import new_secret, sign, signed_headers
from costwarden.notify.worker import DeliveryWorker

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = [
    "Channel",
    "ChannelBook",
    "Deliverer",
    "DeliveryWorker",
    "Message",
    "Outcome",
    "PassReport",
    "Postbox",
    "Sender",
    "alert_json",
    "backoff",
    "compose",
    "deliverer_for",
    "new_secret",
    "postbox_for",
    "sign",
    "signed_headers",
    "start_delivery",
]


def deliverer_for(warden: Warden) -> Deliverer:
    """The deliverer of a Warden's database: its channels, and its hub for the channels' own alerts.
    Raises `ConfigError` on a ledger kept in memory (no outbox)."""
    from costwarden.errors import ConfigError

    outbox = warden.backend.outbox
    if outbox is None:
        raise ConfigError("alert delivery needs a database ledger (the outbox lives there)", key="database")
    postbox = _postbox(warden)
    if postbox is not None:
        return postbox.deliverer()
    return Deliverer(outbox, ChannelBook(warden.settings.alerts, outbox))


def _postbox(warden: Warden) -> Postbox | None:
    hub = getattr(warden.budgets, "hub", None)
    outgoing = getattr(hub, "outgoing", None)
    return outgoing if isinstance(outgoing, Postbox) else None


def start_delivery(warden: Warden, *, poll: float = 1.0) -> DeliveryWorker:
    """Start delivering the outbox of `warden`'s database in a background thread (`costwarden serve`
    calls this once per process); `stop()` it on shutdown. Alerts this process raises wake it at once."""
    worker = DeliveryWorker(deliverer_for(warden), poll=poll).start()
    postbox = _postbox(warden)
    if postbox is not None:
        postbox.worker = worker
    return worker
