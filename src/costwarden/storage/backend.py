"""One storage backend: everything costwarden keeps, behind one protocol and built in one place.

`open_backend(url, settings)` builds the backend for a database URL (`sqlite:///path.db`, a file path,
`postgresql://...`, or `memory://` for a process-local double) and `backend_for_ledger(ledger, settings)`
the one for a ledger object already opened (`SqlLedger`, `MemoryLedger`, or any other `Ledger`). Both check
the combination at once: Redis counters (`redis_url`) need a SQL ledger beside them, and configured budgets
need budget storage, which a ledger object that is neither SQL nor `MemoryLedger` does not bring. Such a
combination is a `ConfigError` when the backend is built, never a quiet fallback to counters in memory.

Nothing is opened before first use: a SQL backend built from a URL opens (and migrates) its ledger when one
of its parts is first asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from costwarden.errors import ConfigError
from costwarden.storage.budgets import BudgetStores

if TYPE_CHECKING:
    from costwarden.config import Settings
    from costwarden.storage.api_keys import KeyStore
    from costwarden.storage.dismissals import Dismissals
    from costwarden.storage.ledger import Ledger
    from costwarden.storage.offsets import OffsetStore, StoredSnapshot
    from costwarden.storage.outbox import Outbox
    from costwarden.storage.quotas import QuotaStore
    from costwarden.storage.rollups import Rollups
    from costwarden.storage.tiers import TierStore

__all__ = ["MEMORY_URL", "Backend", "open_backend", "backend_for_ledger"]

MEMORY_URL = "memory://"
"""The URL of a backend kept in this process only (tests, users' tests)."""


class Backend(Protocol):
    """Everything costwarden stores, for one database."""

    @property
    def kind(self) -> str:
        """`sqlite`, `postgresql` or `memory`."""
        ...

    @property
    def ledger(self) -> Ledger:
        """The events ledger (opened and migrated on first use)."""
        ...

    @property
    def durable(self) -> bool:
        """True when what is stored outlives the process (SQL): budgets stored from the CLI apply."""
        ...

    def budget_stores(self) -> BudgetStores:
        """Budget counters (in Redis when `redis_url` is set) and records; built once per backend."""
        ...

    @property
    def quotas(self) -> QuotaStore:
        """The latest rate-limit quota per provider."""
        ...

    @property
    def offsets(self) -> OffsetStore:
        """How far each log file was imported."""
        ...

    @property
    def dismissals(self) -> Dismissals:
        """Dismissed insights."""
        ...

    @property
    def outbox(self) -> Outbox | None:
        """The alert outbox and the channels set from the CLI (None: kept in memory, no outbox)."""
        ...

    @property
    def api_keys(self) -> KeyStore:
        """API keys of `costwarden serve` and the gateway (hashes only)."""
        ...

    @property
    def tiers(self) -> TierStore:
        """Cost tiers set from the CLI (`costwarden tiers add/set/remove`)."""
        ...

    @property
    def rollups(self) -> Rollups | None:
        """Hourly, daily and monthly sums and the retention that folds them (None: no rollups, in memory)."""
        ...

    def stored_snapshots(self, ids: list[str]) -> dict[str, StoredSnapshot]:
        """What the ledger holds of each of `ids` it holds (for imports counting new and changed events)."""
        ...

    def retention_horizon(self) -> datetime | None:
        """The time before which only folded rollups remain (None: nothing folded yet)."""
        ...

    def token_key(self) -> bytes:
        """The secret admission tokens are signed with: made once per database and shared by every process
        opening it (in memory: one per ledger object)."""
        ...

    def close(self) -> None:
        """Release the database (connections, background threads)."""
        ...


def _check_redis(settings: Settings, kind: str) -> None:
    if settings.redis_url and kind == "memory":
        raise ConfigError(
            "Redis budget counters (redis_url) need a SQL ledger beside them (their reservation journal, "
            "budgets and alerts live there); this ledger is kept in memory: use a sqlite:/// or "
            "postgresql:// database, or leave redis_url unset",
            key="redis_url",
        )


def open_backend(url: str, settings: Settings) -> Backend:
    """The backend for `url`: SQL for SQLite and PostgreSQL URLs (and plain file paths), in memory for
    `memory://`. Raises `ConfigError` for a combination it cannot serve (see the module docstring); the
    URL itself is parsed and the database opened on first use."""
    if url.strip().lower() == MEMORY_URL:
        from costwarden.storage.memory.ledger import MemoryLedger

        return backend_for_ledger(MemoryLedger(), settings)
    _check_redis(settings, "sql")
    from costwarden.storage.sql.backend import SqlBackend

    return SqlBackend(settings, url=url)


def backend_for_ledger(ledger: Ledger, settings: Settings, *, budgets: bool = True) -> Backend:
    """The backend around a ledger object already built. `budgets=False`: the caller brings its own budget
    controller, so configured budgets do not need this backend's budget storage."""
    from costwarden.storage.sql.ledger import SqlLedger

    if isinstance(ledger, SqlLedger):
        from costwarden.storage.sql.backend import SqlBackend

        return SqlBackend(settings, ledger=ledger)
    from costwarden.storage.memory.backend import MemoryBackend
    from costwarden.storage.memory.ledger import MemoryLedger

    _check_redis(settings, "memory")
    own = isinstance(ledger, MemoryLedger)
    if budgets and (settings.budgets or settings.rate_limits) and not own:
        raise ConfigError(
            f"budgets are configured but the ledger {type(ledger).__name__} keeps no budget counters "
            "(only SqlLedger and MemoryLedger do): pass a SQL database or a MemoryLedger, or a budget "
            "controller of your own (budgets=...)",
            key="budgets",
        )
    return MemoryBackend(ledger)
