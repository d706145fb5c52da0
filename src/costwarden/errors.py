"""One hierarchy of errors: every failure costwarden raises is a `CostwardenError`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

__all__ = [
    "CostwardenError",
    "ConfigError",
    "ValidationError",
    "PricingError",
    "LedgerError",
    "MissingExtraError",
    "BudgetExceeded",
    "RunTerminated",
    "QueueTimeout",
    "QuotaExhausted",
    "AdmissionTokenError",
]


class CostwardenError(Exception):
    """Base class of every error raised by costwarden."""


class ConfigError(CostwardenError):
    """A configuration file, key, flag or environment variable is wrong.

    The message names where (file and key path, flag or variable) and what was expected.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        self.source = source
        self.key = key
        where = ""
        if source and key:
            where = f"{source}: {key}: "
        elif source:
            where = f"{source}: "
        elif key:
            where = f"{key}: "
        super().__init__(f"{where}{message}")


class ValidationError(CostwardenError, ValueError):
    """An event or request field holds a value that cannot be accepted; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class PricingError(CostwardenError):
    """A price could not be determined or a price definition is invalid."""


class LedgerError(CostwardenError):
    """The ledger storage failed or holds an unexpected schema."""


class MissingExtraError(CostwardenError, ImportError):
    """An optional dependency is not installed; the message gives the install command."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{package} is not installed; install it with: pip install 'costwarden[{extra}]'")


class BudgetExceeded(CostwardenError):
    """A call was refused because a budget has no room for its worst case.

    The message is the notice to show people (e.g. "Cloud budget exhausted, operating local-only until
    2026-12-01 00:00 UTC"). `limit`, `spent` and `reserved` are in the budget's `unit`: USD (Decimal) for
    `cost_usd`, counts for `tokens`, `requests` and `concurrent`. `resets_at` is None for budgets that never
    reset (`total`, `run`).
    """

    def __init__(
        self,
        message: str,
        *,
        budget_id: str,
        scope: str,
        period: str,
        limit: Decimal | int,
        spent: Decimal | int,
        reserved: Decimal | int,
        resets_at: datetime | None,
        unit: str = "cost_usd",
        requested: Decimal | int = 0,
        action: str = "block",
    ) -> None:
        self.budget_id = budget_id
        self.scope = scope
        self.period = period
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.resets_at = resets_at
        self.unit = unit
        self.requested = requested
        self.action = action
        super().__init__(message)

    @property
    def remaining(self) -> Decimal | int:
        """What was left for new calls when the call was refused (never negative)."""
        left = self.limit - self.spent - self.reserved
        return left if left > 0 else type(left)(0)


class RunTerminated(BudgetExceeded):
    """A run exceeded a budget whose action is `terminate_run`: this and every later call of the run are
    refused."""

    def __init__(self, message: str, *, run: str | None = None, **details: object) -> None:
        self.run = run
        super().__init__(message, **details)  # type: ignore[arg-type]


class QueueTimeout(BudgetExceeded):
    """A call waited for budget or concurrency capacity (`queue` action) and its timeout passed."""

    def __init__(self, message: str, *, waited: float = 0.0, **details: object) -> None:
        self.waited = waited
        super().__init__(message, **details)  # type: ignore[arg-type]


class QuotaExhausted(BudgetExceeded):
    """A call was refused because its provider account's quota is exhausted (a 429, a window at 100 %, a
    limit hit) until `resets_at`, and no fallback could take it (or the plan says `on_exhausted: refuse`,
    or waiting would take longer than its `max_wait`). `provider`, `account` and `window` name the wall."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        account: str,
        window: str,
        resets_at: datetime | None,
        action: str = "refuse",
    ) -> None:
        self.provider = provider
        self.account = account
        self.window = window
        super().__init__(
            message,
            budget_id=f"quota:{provider}/{account}",
            scope=f"provider={provider}|account={account}",
            period=window,
            limit=0,
            spent=0,
            reserved=0,
            resets_at=resets_at,
            unit="requests",
            requested=1,
            action=action,
        )


class AdmissionTokenError(CostwardenError):
    """An admission token cannot be settled or released. `reason`:

    - `invalid`: not a token, altered, or issued for another database (its signature does not match);
    - `expired`: its deadline passed before it was settled (its reservation may have been reclaimed);
    - `released`: its reservation is no longer held (released, or reclaimed) and it was never settled;
    - `conflict`: it was settled already, with other usage or status.
    """

    def __init__(self, message: str, *, reason: str = "invalid") -> None:
        self.reason = reason
        super().__init__(message)
