"""The SQL backend (SQLite, PostgreSQL): the ledger and every side store on one database, budget counters
in Redis when `redis_url` is set. Built by `costwarden.storage.backend.open_backend`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from costwarden.forking import ForkSafeLock
from costwarden.storage.budgets import BudgetStores
from costwarden.storage.sql.capture_store import SqlOffsetStore, stored_snapshots
from costwarden.storage.sql.insight_store import SqlDismissals
from costwarden.storage.sql.quota_store import SqlQuotaStore
from costwarden.storage.sql.rollup_store import RollupStore

if TYPE_CHECKING:
    from costwarden.config import Settings
    from costwarden.storage.offsets import StoredSnapshot
    from costwarden.storage.sql.key_store import SqlKeyStore
    from costwarden.storage.sql.ledger import SqlLedger
    from costwarden.storage.sql.outbox_store import SqlOutbox
    from costwarden.storage.sql.tier_store import SqlTierStore

__all__ = ["SqlBackend"]


class SqlBackend:
    """Every store on the database of one `SqlLedger` (given, or opened from `url` on first use)."""

    def __init__(
        self, settings: Settings, *, ledger: SqlLedger | None = None, url: str | None = None
    ) -> None:
        if (ledger is None) == (url is None):
            raise ValueError("give a ledger or a url")
        self.settings = settings
        self.url = url
        self._ledger = ledger
        self._budgets: BudgetStores | None = None
        self._token_key: bytes | None = None
        self._lock = ForkSafeLock(reentrant=True)  # threads racing to first use open one ledger

    @property
    def kind(self) -> str:
        return self.ledger.dialect

    @property
    def durable(self) -> bool:
        return True

    @property
    def ledger(self) -> SqlLedger:
        ledger = self._ledger
        if ledger is None:
            with self._lock:
                if self._ledger is None:
                    from costwarden.storage.sql.ledger import open_ledger

                    assert self.url is not None
                    self._ledger = open_ledger(self.url)
                ledger = self._ledger
        return ledger

    def budget_stores(self) -> BudgetStores:
        stores = self._budgets
        if stores is None:
            with self._lock:
                if self._budgets is None:
                    self._budgets = self._build_budget_stores()
                stores = self._budgets
        return stores

    def _build_budget_stores(self) -> BudgetStores:
        from costwarden.storage.sql.budget_store import SqlBudgetStore

        sql = SqlBudgetStore(self.ledger)
        if not self.settings.redis_url:
            return BudgetStores(counters=sql, records=sql)
        from costwarden.storage.redis.counters import RedisCounterStore
        from costwarden.storage.redis.fallback import FallbackCounterStore

        redis = RedisCounterStore(self.settings.redis_url, self.ledger, journal=sql)
        return BudgetStores(counters=FallbackCounterStore(redis, sql), records=sql, redis=redis)

    @property
    def quotas(self) -> SqlQuotaStore:
        return SqlQuotaStore(self.ledger.engine)

    @property
    def offsets(self) -> SqlOffsetStore:
        return SqlOffsetStore(self.ledger.engine)

    @property
    def dismissals(self) -> SqlDismissals:
        return SqlDismissals(self.ledger.engine)

    @property
    def outbox(self) -> SqlOutbox:
        from costwarden.storage.sql.outbox_store import SqlOutbox

        return SqlOutbox(self.ledger.engine)

    @property
    def api_keys(self) -> SqlKeyStore:
        from costwarden.storage.sql.key_store import SqlKeyStore

        return SqlKeyStore(self.ledger.engine)

    @property
    def tiers(self) -> SqlTierStore:
        from costwarden.storage.sql.tier_store import SqlTierStore

        return SqlTierStore(self.ledger.engine)

    @property
    def rollups(self) -> RollupStore:
        return RollupStore(self.ledger.engine)

    def stored_snapshots(self, ids: list[str]) -> dict[str, StoredSnapshot]:
        return stored_snapshots(self.ledger.engine, ids)

    def retention_horizon(self) -> datetime | None:
        coverage = self.rollups.coverage()
        cuts = [at for at in (coverage.events_before, coverage.hourly_before) if at is not None]
        return max(cuts) if cuts else None

    def token_key(self) -> bytes:
        if self._token_key is None:
            from costwarden.storage.sql.budget_records import BudgetSql

            self._token_key = BudgetSql(self.ledger).token_key()
        return self._token_key

    def close(self) -> None:
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                if self.url is not None:
                    self._ledger = None
