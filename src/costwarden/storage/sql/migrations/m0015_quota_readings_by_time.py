"""Quota readings by time: an index on `quota_readings.observed_at`, so the newest readings of the last days
(what admission reads to find exhausted accounts) are found without scanning the whole time series."""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["NAME", "upgrade"]

NAME = "m0015_quota_readings_by_time"


def upgrade(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE INDEX ix_quota_readings_observed_at ON quota_readings (observed_at)")
