"""Storage on SQL (SQLite, PostgreSQL) through SQLAlchemy Core: the ledger (`ledger`), its engine and
transactions (`engine`), the schema and the migrations that create it (`schema`, `migrate`, `migrations`),
budget counters and records, capture stores, rollups and dismissals, all on one database (`backend`).

Nothing is imported here, so `import costwarden.storage.sql.engine` does not pull in the rest."""
