"""Quota readings: `quota_readings`, a time series per provider + account + window, replacing
`provider_quotas` (one latest snapshot per provider, where two accounts overwrote each other).

The windows of every stored `provider_quotas` row are copied as readings of account `default`, source
`headers` (or `codex` for provider `codex`); then `provider_quotas` is dropped. Spelled out as shipped; see
`costwarden.storage.sql.quota_store`.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

__all__ = ["NAME", "upgrade"]

NAME = "m0012_quota_readings"


def _name(length: int) -> String:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _micros(iso: str | None) -> int | None:
    if not iso:
        return None
    at = datetime.fromisoformat(iso)
    return round(at.timestamp() * 1_000_000)


def upgrade(conn: Connection) -> None:
    meta = MetaData()
    readings = Table(
        "quota_readings",
        meta,
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
        Column("model", Text().with_variant(Text(collation="C"), "postgresql"), nullable=True),
        PrimaryKeyConstraint(
            "provider", "account", "window_name", "observed_at", "source", name="pk_quota_readings"
        ),
    )
    readings.create(conn)
    old = conn.execute(
        text("SELECT provider, observed_at, model, status_code, retry_after_ms, windows FROM provider_quotas")
    ).all()
    rows = []
    for provider, observed_at, model, status_code, retry_after_ms, windows in old:
        for name, window in sorted(json.loads(windows).items()):
            rows.append(
                {
                    "provider": provider,
                    "account": "default",
                    "window_name": name,
                    "observed_at": observed_at,
                    "source": "codex" if provider == "codex" else "headers",
                    "quota_limit": window.get("limit"),
                    "remaining": window.get("remaining"),
                    "used": None,
                    "utilization": window.get("utilization"),
                    "reset_at": _micros(window.get("reset_at")),
                    "status": window.get("status"),
                    "unit": None,
                    "status_code": status_code,
                    "retry_after_ms": retry_after_ms,
                    "model": model,
                }
            )
    if rows:
        conn.execute(readings.insert(), rows)
    conn.exec_driver_sql("DROP TABLE provider_quotas")
