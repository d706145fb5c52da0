"""The outbox, newest first: each alert bound for a channel, its state and (on request) every attempt.
`deliveries_view(warden, DeliveriesQuery(...))` answers `costwarden alert deliveries`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.errors import ConfigError
from costwarden.notify.message import alert_json
from costwarden.reports.periods import utc_iso
from costwarden.storage.outbox import DELIVERY_STATES, Attempt, Delivery
from costwarden.views.errors import QueryError

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["DELIVERIES_SCHEMA", "DeliveriesQuery", "DeliveriesResult", "deliveries_view"]

DELIVERIES_SCHEMA = "costwarden.deliveries/1"


@dataclass(frozen=True, slots=True)
class DeliveriesQuery:
    """At most `limit` deliveries, newest first; only this `channel`, this `status` (of
    `DELIVERY_STATES`) or this alert; `attempts`: with every attempt of each."""

    limit: int = 50
    channel: str | None = None
    status: str | None = None
    alert_id: int | None = None
    attempts: bool = False


@dataclass(frozen=True, slots=True)
class DeliveriesResult:
    SCHEMA: ClassVar[str] = DELIVERIES_SCHEMA

    deliveries: list[Delivery] = field(default_factory=list)
    attempts: dict[int, list[Attempt]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": DELIVERIES_SCHEMA,
            "deliveries": [self._one(d) for d in self.deliveries],
        }

    def _one(self, delivery: Delivery) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": delivery.id,
            "message_id": delivery.message_id,
            "channel": delivery.channel,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "created_at": utc_iso(delivery.created_at),
            "next_attempt_at": utc_iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
            "finished_at": utc_iso(delivery.finished_at) if delivery.finished_at is not None else None,
            "last_error": delivery.last_error,
            "alert": alert_json(delivery.alert),
        }
        if self.attempts is not None:
            out["attempt_log"] = [
                {
                    "attempt": a.attempt,
                    "at": utc_iso(a.at),
                    "ok": a.ok,
                    "outcome": a.outcome,
                    "detail": a.detail,
                    "duration_ms": a.duration_ms,
                    "worker": a.worker,
                }
                for a in self.attempts.get(delivery.id, [])
            ]
        return out


def deliveries_view(warden: Warden, query: DeliveriesQuery) -> DeliveriesResult:
    """The outbox rows asked for; an unknown `status` is a `QueryError` (`--status`); without a database
    ledger a `ConfigError`."""
    if query.status is not None and query.status not in DELIVERY_STATES:
        raise QueryError(
            f"unknown status {query.status!r}; choose from {', '.join(DELIVERY_STATES)}", "--status"
        )
    outbox = warden.backend.outbox
    if outbox is None:
        raise ConfigError("the alert outbox needs a database ledger", key="database")
    rows = outbox.deliveries(
        limit=query.limit, channel=query.channel, status=query.status, alert_id=query.alert_id
    )
    if not query.attempts:
        return DeliveriesResult(rows)
    grouped: dict[int, list[Attempt]] = {}
    for attempt in outbox.attempts([d.id for d in rows]):
        grouped.setdefault(attempt.delivery_id, []).append(attempt)
    return DeliveriesResult(rows, grouped)
