"""The ordered list of ledger migrations.

To change the schema, add a module `mNNNN_what.py` with `NAME = "mNNNN_what"` and
`def upgrade(conn: Connection) -> None` (explicit DDL; branch on `conn.dialect.name` where the backends
differ), append it to `MIGRATIONS`, and update the `Table`s in `costwarden.storage.sql.schema`. Never edit or
reorder a migration that has shipped: databases out there have it recorded as applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from costwarden.storage.sql.migrate import Migration
from costwarden.storage.sql.migrations import (
    m0001_events,
    m0002_budgets,
    m0003_capture,
    m0004_rollups,
    m0005_rollup_totals,
    m0006_budget_derivations,
    m0007_canonical_names,
    m0008_provider_ids,
    m0009_long_ids,
    m0010_reservation_journal,
    m0011_late_events,
    m0012_quota_readings,
    m0013_alert_outbox,
    m0014_retired_events,
    m0015_quota_readings_by_time,
    m0016_api_keys,
    m0017_alert_acks,
    m0018_cost_tiers,
    m0019_rollups_by_session,
)

__all__ = ["MIGRATIONS"]

MIGRATIONS: Sequence[Migration] = (
    m0001_events,
    m0002_budgets,
    m0003_capture,
    m0004_rollups,
    m0005_rollup_totals,
    m0006_budget_derivations,
    m0007_canonical_names,
    m0008_provider_ids,
    m0009_long_ids,
    m0010_reservation_journal,
    m0011_late_events,
    m0012_quota_readings,
    m0013_alert_outbox,
    m0014_retired_events,
    m0015_quota_readings_by_time,
    m0016_api_keys,
    m0017_alert_acks,
    m0018_cost_tiers,
    m0019_rollups_by_session,
)
