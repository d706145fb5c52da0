"""The ledger's public names, kept here for users: `Ledger`, `EventQuery`, `MemoryLedger`, `open_ledger`
and `SqlLedger` (and the query helpers). They live in `costwarden.storage` (`storage.ledger`,
`storage.memory.ledger`, `storage.sql.ledger`); costwarden's own code imports them from there.

`SqlLedger` and `open_ledger` are imported on first use, so `import costwarden.ledger` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costwarden.storage.ledger import (
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
from costwarden.storage.memory.ledger import MemoryLedger

if TYPE_CHECKING:
    from costwarden.storage.sql.ledger import SqlLedger, open_ledger

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
        from costwarden.storage.sql import ledger

        return getattr(ledger, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
