"""Canonical names: `events.given_provider` / `events.given_model` keep the names a caller gave, and the
events stored before get their canonical provider and model.

From this migration on, `events.provider` and `events.model` hold the price catalog's ids (`claude` ->
`anthropic`, `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`); the given names are kept where they
differ (NULL: the same). Older rows are resolved here, once, with the bundled catalog and the built-in
provider aliases (a `pricing:` section of the config file is not known at this point: custom models keep
their names, as an unknown model does). Every distinct (provider, model) pair is resolved once.

Rollups follow: the update of a retained event moves it between rollup rows through the triggers of m0004 and
m0005; then every rollup row still under an old name (the totals of events retention already folded) is
added to the row of its canonical names and deleted. Budget counters are a cache of the ledger: when any
name changed, every derivation (m0006) is forgotten, so each counter is derived again from the renamed
events before it is next used (a budget on `provider: anthropic` then counts what was stored as `claude`).

Everything is spelled out here as it was when this migration shipped.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

__all__ = ["NAME", "upgrade"]

NAME = "m0007_canonical_names"

_ROLLUP_DIMS = (
    "project",
    "agent",
    "session",
    "run",
    "task",
    "task_type",
    "plan",
    "user_name",
    "provider",
    "model",
    "status",
    "source",
    "cost_source",
    "tags",
)
_TOTALS_DIMS = (
    "project",
    "agent",
    "user_name",
    "plan",
    "task_type",
    "provider",
    "model",
    "status",
    "source",
    "cost_source",
)
_SUMS = (
    "events",
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
    "cost_units",
    "unpriced_events",
    "unpriced_units",
    "error_events",
)
_TABLES = {"rollups": _ROLLUP_DIMS, "rollup_totals": _TOTALS_DIMS}
_TO = {"provider": "CAST(:provider_to AS TEXT)", "model": "CAST(:model_to AS TEXT)"}


def _canonical(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """The pairs whose canonical names differ from the stored ones."""
    from costwarden.pricing.book import PriceBook

    book = PriceBook()
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for provider, model in pairs:
        names = book.canonical(provider, model)
        if names != (provider, model) and names[0] and names[1]:
            out[(provider, model)] = names
    return out


def _key(dialect: str, dims: tuple[str, ...]) -> str:
    """A rollup row's `dims_key` with :provider_to / :model_to in place of its own provider and model."""
    sep = " || chr(31) || " if dialect == "postgresql" else " || char(31) || "
    parts = [_TO.get(name, f"coalesce(r.{name}, '')") for name in dims]
    joined = sep.join(parts)
    return f"md5({joined})" if dialect == "postgresql" else f"({joined})"


def _rekey(dialect: str, table: str, dims: tuple[str, ...]) -> tuple[str, str]:
    """The statements that move one table's rows of (:provider, :model) to (:provider_to, :model_to)."""
    columns = ", ".join(("level", "bucket_start", "dims_key", "bucket_end", "label", *dims, *_SUMS))
    picked = ", ".join(_TO.get(name, f"r.{name}") for name in dims)
    sums = ", ".join(f"r.{name}" for name in _SUMS)
    add = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in _SUMS)
    insert = (
        f"INSERT INTO {table} ({columns}) SELECT r.level, r.bucket_start, {_key(dialect, dims)}, "
        f"r.bucket_end, r.label, {picked}, {sums} FROM {table} r "
        "WHERE r.provider = :provider AND r.model = :model "
        f"ON CONFLICT (level, bucket_start, dims_key) DO UPDATE SET {add}"
    )
    delete = f"DELETE FROM {table} WHERE provider = :provider AND model = :model"
    return insert, delete


def upgrade(conn: Connection) -> None:
    dialect = conn.dialect.name
    column = "TEXT" if dialect == "sqlite" else 'TEXT COLLATE "C"'
    conn.exec_driver_sql(f"ALTER TABLE events ADD COLUMN given_provider {column}")
    conn.exec_driver_sql(f"ALTER TABLE events ADD COLUMN given_model {column}")
    seen: set[tuple[str, str]] = set()
    for table in ("events", *_TABLES):
        rows = conn.exec_driver_sql(f"SELECT DISTINCT provider, model FROM {table}")
        seen.update((str(provider), str(model)) for provider, model in rows)
    renamed = _canonical(sorted(seen))
    update = text(
        "UPDATE events SET provider = :provider_to, model = :model_to, "
        "given_provider = :given_provider, given_model = :given_model "
        "WHERE provider = :provider AND model = :model"
    )
    statements = [_rekey(dialect, table, dims) for table, dims in _TABLES.items()]
    for (provider, model), (provider_to, model_to) in renamed.items():
        params = {"provider": provider, "model": model, "provider_to": provider_to, "model_to": model_to}
        given = {
            "given_provider": None if provider == provider_to else provider,
            "given_model": None if model == model_to else model,
        }
        conn.execute(update, {**params, **given})
        for insert, delete in statements:
            conn.execute(text(insert), params)
            conn.execute(text(delete), params)
    if renamed and inspect(conn).has_table("budget_derivations"):
        conn.exec_driver_sql("DELETE FROM budget_derivations")
