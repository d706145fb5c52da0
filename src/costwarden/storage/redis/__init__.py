"""Budget counters in Redis (`counters`), beside a SQL ledger that keeps the events, the reservation
journal and the records, with the SQL counters as a fallback while Redis is away (`fallback`)."""
