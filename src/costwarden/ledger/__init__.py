"""Storage behind one protocol: SQL (SQLite, PostgreSQL) and an in-memory double."""

from costwarden.ledger.base import AppendOutcome, EventQuery, Ledger, ModelSeen, Totals

__all__ = ["AppendOutcome", "EventQuery", "Ledger", "ModelSeen", "Totals"]
