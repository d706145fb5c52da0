"""The alert outbox in the ledger's database (migration `m0013_alert_outbox`).

- `alert_outbox`: one row per alert and channel, written in the transaction that records the alert
  (`BudgetSql.add_alert`), unique per (alert, channel) and per `message_id`.
- `alert_attempts`: every attempt (and every decision not to send: rate limit, giving up).
- `alert_channels`: channels set from the CLI (name -> the config mapping as JSON).
- `alert_channel_health`: per channel, consecutive failures and whether it was reported failing.

Claiming is one `UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) RETURNING`: on SQLite the
write transaction serialises deliverers, on PostgreSQL the row locks do; a lease that runs out (a deliverer
died mid-send) makes the row due again. Times are microseconds since the epoch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from costwarden.storage.codec import from_micros, now_micros, to_micros
from costwarden.storage.outbox import Attempt, ChannelHealth, Delivery, HealthChange, SavedChannel
from costwarden.storage.sql.budget_records import alert_from_row
from costwarden.storage.sql.budget_store import budget_alerts
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.schema import metadata

__all__ = [
    "alert_outbox",
    "alert_attempts",
    "alert_channels",
    "alert_channel_health",
    "SqlOutbox",
]

_ID = BigInteger().with_variant(Integer(), "sqlite")
_NAME = String(64).with_variant(String(64, collation="C"), "postgresql")

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
    Column("alert_id", BigInteger, nullable=False),
    Column("channel", _NAME, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("finished_at", BigInteger, nullable=True),
    UniqueConstraint("message_id", name="uq_alert_outbox_message"),
    UniqueConstraint("alert_id", "channel", name="uq_alert_outbox_alert_channel"),
)
Index("ix_alert_outbox_due", alert_outbox.c.status, alert_outbox.c.next_attempt_at)
Index("ix_alert_outbox_channel", alert_outbox.c.channel, alert_outbox.c.finished_at)

alert_attempts = Table(
    "alert_attempts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("detail", Text(), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("worker", String(128), nullable=False),
)
Index("ix_alert_attempts_outbox", alert_attempts.c.outbox_id)

alert_channels = Table(
    "alert_channels",
    metadata,
    Column("name", _NAME, nullable=False),
    Column("definition", Text(), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("name", name="pk_alert_channels"),
)

alert_channel_health = Table(
    "alert_channel_health",
    metadata,
    Column("channel", _NAME, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("failing_since", BigInteger, nullable=True),
    Column("alerted", Integer, nullable=False),
    PrimaryKeyConstraint("channel", name="pk_alert_channel_health"),
)

_ALERT_COLUMNS = [
    budget_alerts.c[name]
    for name in (
        "id",
        "at",
        "kind",
        "level",
        "budget_id",
        "scope",
        "period_key",
        "dimension",
        "threshold",
        "limit_units",
        "spent_units",
        "reserved_units",
        "requested_units",
        "resets_at",
        "message",
        "details",
    )
]
_OUTBOX_COLUMNS = [
    alert_outbox.c[name]
    for name in (
        "id",
        "message_id",
        "channel",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "last_error",
        "finished_at",
    )
]


def _micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _delivery(row: Sequence[Any]) -> Delivery:
    n = len(_OUTBOX_COLUMNS)
    head, alert = row[:n], row[n:]
    return Delivery(
        id=int(head[0]),
        message_id=str(head[1]),
        channel=str(head[2]),
        status=str(head[3]),
        attempts=int(head[4]),
        created_at=from_micros(int(head[5])),
        next_attempt_at=from_micros(int(head[6])),
        last_error=head[7],
        finished_at=None if head[8] is None else from_micros(int(head[8])),
        alert=alert_from_row(alert),
    )


def _joined() -> Any:
    return select(*_OUTBOX_COLUMNS, *_ALERT_COLUMNS).join_from(
        alert_outbox, budget_alerts, alert_outbox.c.alert_id == budget_alerts.c.id
    )


class SqlOutbox:
    """`Outbox` on a SQL engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- delivering --------------------------------------------------------------------------------------

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
        if not channels or (message_ids is not None and not message_ids):
            return []
        at = _micros(now)
        box = alert_outbox.c
        due = (
            select(box.id)
            .where(
                box.status == "pending",
                box.next_attempt_at <= at,
                or_(box.lease_until.is_(None), box.lease_until < at),
                box.channel.in_(list(channels)),
            )
            .order_by(box.id)
            .limit(limit)
        )
        if message_ids is not None:
            due = due.where(box.message_id.in_(list(message_ids)))
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        with write_transaction(self.engine) as conn:
            claimed = conn.execute(
                update(alert_outbox)
                .where(box.id.in_(due.scalar_subquery()))
                .values(lease_owner=owner, lease_until=at + _micros(lease))
                .returning(box.id)
            ).all()
            if not claimed:
                return []
            rows = conn.execute(
                _joined().where(box.id.in_([int(r[0]) for r in claimed])).order_by(box.id)
            ).all()
        return [_delivery(row) for row in rows]

    def finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        status: str,
        next_attempt_at: float | None = None,
        failing_after: int | None = None,
    ) -> HealthChange:
        at = to_micros(attempt.at)
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempt.attempt,
            "lease_owner": None,
            "lease_until": None,
            "last_error": None if attempt.ok else attempt.detail or attempt.outcome,
        }
        if status == "pending":
            values["next_attempt_at"] = _micros(next_attempt_at if next_attempt_at is not None else 0)
        else:
            values["finished_at"] = at
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(alert_attempts).values(
                    outbox_id=delivery.id,
                    attempt=attempt.attempt,
                    at=at,
                    ok=1 if attempt.ok else 0,
                    outcome=attempt.outcome[:64],
                    detail=attempt.detail,
                    duration_ms=attempt.duration_ms,
                    worker=attempt.worker[:128],
                )
            )
            conn.execute(update(alert_outbox).where(alert_outbox.c.id == delivery.id).values(**values))
            if failing_after is None:
                return None
            return _health(conn, delivery.channel, attempt.ok, at, failing_after)

    def delivered_since(self, channel: str, since: float) -> int:
        box = alert_outbox.c
        with read_transaction(self.engine) as conn:
            found = conn.execute(
                select(func.count())
                .select_from(alert_outbox)
                .where(box.channel == channel, box.status == "delivered", box.finished_at >= _micros(since))
            ).scalar_one()
        return int(found)

    def suppressed_since_delivered(self, channel: str) -> int:
        box = alert_outbox.c
        last = (
            select(func.coalesce(func.max(box.id), 0))
            .where(box.channel == channel, box.status == "delivered")
            .scalar_subquery()
        )
        with read_transaction(self.engine) as conn:
            found = conn.execute(
                select(func.count())
                .select_from(alert_outbox)
                .where(box.channel == channel, box.status == "suppressed", box.id > last)
            ).scalar_one()
        return int(found)

    # -- reading -----------------------------------------------------------------------------------------

    def deliveries(
        self,
        *,
        limit: int = 50,
        channel: str | None = None,
        status: str | None = None,
        alert_id: int | None = None,
    ) -> list[Delivery]:
        box = alert_outbox.c
        query = _joined()
        if channel is not None:
            query = query.where(box.channel == channel)
        if status is not None:
            query = query.where(box.status == status)
        if alert_id is not None:
            query = query.where(box.alert_id == alert_id)
        with read_transaction(self.engine) as conn:
            rows = conn.execute(query.order_by(box.id.desc()).limit(int(limit))).all()
        return [_delivery(row) for row in rows]

    def attempts(self, delivery_ids: Sequence[int]) -> list[Attempt]:
        if not delivery_ids:
            return []
        c = alert_attempts.c
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(c.outbox_id, c.attempt, c.at, c.ok, c.outcome, c.detail, c.duration_ms, c.worker)
                .where(c.outbox_id.in_(list(delivery_ids)))
                .order_by(c.id)
            ).all()
        return [
            Attempt(
                delivery_id=int(r[0]),
                attempt=int(r[1]),
                at=from_micros(int(r[2])),
                ok=bool(r[3]),
                outcome=str(r[4]),
                detail=r[5],
                duration_ms=int(r[6]),
                worker=str(r[7]),
            )
            for r in rows
        ]

    def backlog(self) -> dict[str, dict[str, int]]:
        box = alert_outbox.c
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(box.channel, box.status, func.count()).group_by(box.channel, box.status)
            ).all()
        out: dict[str, dict[str, int]] = {}
        for channel, status, count in rows:
            out.setdefault(str(channel), {})[str(status)] = int(count)
        return out

    def health(self) -> dict[str, ChannelHealth]:
        h = alert_channel_health.c
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(h.channel, h.failures, h.failing_since, h.alerted)).all()
        return {
            str(r[0]): ChannelHealth(
                failures=int(r[1]),
                failing_since=None if r[2] is None else from_micros(int(r[2])),
                reported=bool(r[3]),
            )
            for r in rows
        }

    def abandon(self, channel: str, reason: str) -> int:
        box = alert_outbox.c
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(alert_outbox)
                .where(box.channel == channel, box.status == "pending")
                .values(status="failed", last_error=reason, finished_at=now_micros(), lease_owner=None)
            )
        return int(result.rowcount)

    # -- channels set from the CLI -------------------------------------------------------------------------

    def saved_channels(self) -> list[SavedChannel]:
        c = alert_channels.c
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(c.name, c.definition, c.updated_at).order_by(c.name)).all()
        return [SavedChannel(str(r[0]), json.loads(r[1]), int(r[2]) / 1e6) for r in rows]

    def save_channel(self, channel: SavedChannel) -> None:
        c = alert_channels.c
        definition = json.dumps(dict(channel.definition), sort_keys=True, default=str)
        with write_transaction(self.engine) as conn:
            stamp = now_micros()
            statement = _insert(conn)(alert_channels).values(
                name=channel.name, definition=definition, updated_at=stamp
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[c.name], set_={"definition": definition, "updated_at": stamp}
                )
            )

    def remove_channel(self, name: str) -> bool:
        with write_transaction(self.engine) as conn:
            result = conn.execute(delete(alert_channels).where(alert_channels.c.name == name))
        return bool(result.rowcount)


def _insert(conn: Connection) -> Any:
    """The dialect's INSERT (with `on_conflict_do_nothing`)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _health(conn: Connection, channel: str, ok: bool, at: int, failing_after: int) -> HealthChange:
    """Count one attempt towards the channel's health inside the caller's transaction."""
    h = alert_channel_health.c
    query = select(h.failures, h.alerted).where(h.channel == channel).with_for_update()
    row = conn.execute(query).first()
    if row is None:
        if ok:
            return None  # no row: the channel never failed
        conn.execute(
            _insert(conn)(alert_channel_health)
            .values(channel=channel, failures=0, failing_since=None, alerted=0)
            .on_conflict_do_nothing()
        )
        row = conn.execute(query).one()
    failures, alerted = int(row[0]), int(row[1])
    if ok:
        if failures == 0 and not alerted:
            return None
        conn.execute(
            update(alert_channel_health)
            .where(h.channel == channel)
            .values(failures=0, failing_since=None, alerted=0)
        )
        return "recovered" if alerted else None
    failures += 1
    report = failures >= failing_after and not alerted
    conn.execute(
        update(alert_channel_health)
        .where(h.channel == channel)
        .values(
            failures=failures,
            failing_since=func.coalesce(h.failing_since, at),
            alerted=1 if (alerted or report) else 0,
        )
    )
    return "failing" if report else None
