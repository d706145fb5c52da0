"""SQL for quota readings: the time series per provider + account + window.

Table `quota_readings` (created by migration `m0012_quota_readings`): one row per window of one
observation, keyed by (provider, account, window, observed_at, source), so the same reading stored twice
(a re-import, a retried poll) is one row. Times are microseconds since the epoch (UTC); `limit`, `remaining`
and `used` are integers in the window's unit (`usd`: 10^-10 USD); `utilization` is the share used (0..1)
when only the provider knows the cap; `retry_after_ms` the wait a rate-limited response asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    select,
)

from costwarden.storage.codec import from_micros, to_micros
from costwarden.storage.quotas import QuotaReading, _Snapshots
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.schema import metadata, text_type, upsert

__all__ = ["quota_readings", "SqlQuotaStore"]


def _name(length: int) -> Any:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


quota_readings = Table(
    "quota_readings",
    metadata,
    Column("provider", _name(255), nullable=False),
    Column("account", _name(255), nullable=False),
    Column("window_name", _name(255), nullable=False),
    Column("observed_at", BigInteger, nullable=False),
    Column("source", _name(64), nullable=False),
    Column("quota_limit", BigInteger, nullable=True),
    Column("remaining", BigInteger, nullable=True),
    Column("used", BigInteger, nullable=True),
    Column("utilization", Float, nullable=True),
    Column("reset_at", BigInteger, nullable=True),
    Column("status", String(64), nullable=True),
    Column("unit", String(16), nullable=True),
    Column("status_code", Integer, nullable=True),
    Column("retry_after_ms", BigInteger, nullable=True),
    Column("model", text_type(), nullable=True),
    PrimaryKeyConstraint(
        "provider", "account", "window_name", "observed_at", "source", name="pk_quota_readings"
    ),
    Index("ix_quota_readings_observed_at", "observed_at"),
)

_BATCH = 500


def _row(reading: QuotaReading) -> dict[str, Any]:
    retry = None if reading.retry_after is None else round(reading.retry_after * 1000)
    return {
        "provider": reading.provider,
        "account": reading.account,
        "window_name": reading.window,
        "observed_at": to_micros(reading.observed_at),
        "source": reading.source,
        "quota_limit": reading.limit,
        "remaining": reading.remaining,
        "used": reading.used,
        "utilization": reading.utilization,
        "reset_at": None if reading.reset_at is None else to_micros(reading.reset_at),
        "status": reading.status,
        "unit": reading.unit,
        "status_code": reading.status_code,
        "retry_after_ms": retry,
        "model": reading.model,
    }


def _reading(row: Any) -> QuotaReading:
    retry = row["retry_after_ms"]
    reset = row["reset_at"]
    utilization = row["utilization"]
    return QuotaReading(
        provider=row["provider"],
        account=row["account"],
        window=row["window_name"],
        observed_at=from_micros(int(row["observed_at"])),
        source=row["source"],
        limit=row["quota_limit"],
        remaining=row["remaining"],
        used=row["used"],
        utilization=None if utilization is None else float(utilization),
        reset_at=None if reset is None else from_micros(int(reset)),
        status=row["status"],
        unit=row["unit"],
        status_code=row["status_code"],
        retry_after=None if retry is None else retry / 1000,
        model=row["model"],
    )


class SqlQuotaStore(_Snapshots):
    """`QuotaStore` on the ledger's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, readings: Sequence[QuotaReading]) -> None:
        if not readings:
            return
        dialect = self._engine.dialect.name
        rows = [_row(r) for r in readings]
        with write_transaction(self._engine) as conn:
            for start in range(0, len(rows), _BATCH):
                stmt = upsert(dialect, quota_readings).values(rows[start : start + _BATCH])
                conn.execute(stmt.on_conflict_do_nothing())

    def history(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        window: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[QuotaReading]:
        t = quota_readings
        stmt = select(t)
        if provider is not None:
            stmt = stmt.where(t.c.provider == provider)
        if account is not None:
            stmt = stmt.where(t.c.account == account)
        if window is not None:
            stmt = stmt.where(t.c.window_name == window)
        if since is not None:
            stmt = stmt.where(t.c.observed_at >= to_micros(since))
        if until is not None:
            stmt = stmt.where(t.c.observed_at < to_micros(until))
        stmt = stmt.order_by(t.c.observed_at, t.c.provider, t.c.account, t.c.window_name, t.c.source)
        with read_transaction(self._engine) as conn:
            return [_reading(row) for row in conn.execute(stmt).mappings()]

    def latest_readings(
        self, *, provider: str | None = None, account: str | None = None, since: datetime | None = None
    ) -> list[QuotaReading]:
        t = quota_readings
        newest = select(t.c.provider, t.c.account, t.c.window_name, func.max(t.c.observed_at).label("at"))
        if since is not None:
            newest = newest.where(t.c.observed_at >= to_micros(since))
        if provider is not None:
            newest = newest.where(t.c.provider == provider)
        if account is not None:
            newest = newest.where(t.c.account == account)
        sub = newest.group_by(t.c.provider, t.c.account, t.c.window_name).subquery()
        stmt = (
            select(t)
            .join(
                sub,
                (t.c.provider == sub.c.provider)
                & (t.c.account == sub.c.account)
                & (t.c.window_name == sub.c.window_name)
                & (t.c.observed_at == sub.c.at),
            )
            .order_by(t.c.provider, t.c.account, t.c.window_name, t.c.source)
        )
        with read_transaction(self._engine) as conn:
            rows = [_reading(row) for row in conn.execute(stmt).mappings()]
        one: dict[tuple[str, str, str], QuotaReading] = {}
        for row in rows:  # two sources at the same microsecond: the last by source name
            one[(row.provider, row.account, row.window)] = row
        return list(one.values())
