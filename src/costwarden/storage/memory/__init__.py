"""Storage kept in this process only: `MemoryLedger` (`ledger`), `MemoryBudgetStore` (`budget_store`) and
the backend around them (`backend`). For tests, and users' tests."""
