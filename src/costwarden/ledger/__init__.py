"""Storage behind one protocol: SQL (SQLite, PostgreSQL) and an in-memory double.

`SqlLedger` and `open_ledger` are imported on first use, so `import costwarden.ledger` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costwarden.ledger.base import (
    FILTER_FIELDS,
    GROUP_FIELDS,
    AppendOutcome,
    EventQuery,
    Ledger,
    ModelSeen,
    Totals,
    check_filter_key,
    check_group_key,
)
from costwarden.ledger.memory import MemoryLedger

if TYPE_CHECKING:
    from costwarden.ledger.sql import SqlLedger, open_ledger

__all__ = [
    "FILTER_FIELDS",
    "GROUP_FIELDS",
    "AppendOutcome",
    "EventQuery",
    "Ledger",
    "MemoryLedger",
    "ModelSeen",
    "SqlLedger",
    "Totals",
    "check_filter_key",
    "check_group_key",
    "open_ledger",
]

_LAZY = {"SqlLedger", "open_ledger"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from costwarden.ledger import sql

        return getattr(sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
