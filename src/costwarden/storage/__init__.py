"""Everything costwarden stores, behind one `Backend` built by `open_backend(url, settings)`.

The protocols and value types storage shares with the layers above live here (`storage.budgets`,
`storage.quotas`, `storage.offsets`, `storage.rollups`, `storage.totals`); storage imports nothing above
it. See docs/storage.md.
"""

from __future__ import annotations

from costwarden.storage.backend import MEMORY_URL, Backend, backend_for_ledger, open_backend

__all__ = ["MEMORY_URL", "Backend", "backend_for_ledger", "open_backend"]
