"""Named, append-only schema migrations.

A migration is a module (or any object) with `NAME: str` and `upgrade(conn: Connection) -> None`; the
dialect is `conn.dialect.name`. The ordered list lives in `costwarden.storage.sql.migrations.MIGRATIONS`.
Applied names are recorded in `costwarden_migrations`. `upgrade()` first reads them in a plain read
transaction: when nothing is pending (every start of an up-to-date database) it returns without taking any
lock, so opening the ledger never waits for a writer. Otherwise it applies each pending migration in its
own transaction, holding the database's write lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction
advisory lock per schema), and re-checks inside it, so processes racing to upgrade apply each migration
once: the later one waits, then finds it applied. Every migration applied to an existing database is
logged (logger `costwarden.ledger.migrate`, INFO; the CLI prints it on stderr); creating a blank one logs
at DEBUG.

A database that records a migration this code does not know was written by a newer costwarden; opening it
raises `LedgerError` rather than guessing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final, Protocol

from sqlalchemy import Connection, Engine, inspect, select, text

from costwarden.errors import LedgerError
from costwarden.storage.codec import now_micros
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.schema import migrations_table

__all__ = [
    "Migration",
    "check_migrations",
    "applied_migrations",
    "pending_migrations",
    "check_not_newer",
    "upgrade",
]

_log = logging.getLogger("costwarden.ledger.migrate")

# First key of the PostgreSQL advisory lock (the second is a hash of the current schema).
_PG_LOCK_KEY: Final = 0x0C057AD


class Migration(Protocol):
    """One migration step: a module with `NAME` and `upgrade(conn)`."""

    NAME: str

    def upgrade(self, conn: Connection) -> None: ...


def check_migrations(migrations: Sequence[Migration]) -> list[str]:
    """The names of `migrations`, checked to be non-empty strings without duplicates."""
    names: list[str] = []
    for migration in migrations:
        name = getattr(migration, "NAME", None)
        if not isinstance(name, str) or not name:
            raise LedgerError(f"migration {migration!r} has no NAME")
        if name in names:
            raise LedgerError(f"migration {name!r} is listed twice")
        if not callable(getattr(migration, "upgrade", None)):
            raise LedgerError(f"migration {name!r} has no upgrade(conn) function")
        names.append(name)
    return names


def _lock(conn: Connection) -> None:
    """Serialise migrators. SQLite: the IMMEDIATE transaction already holds the write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:key, hashtext(coalesce(current_schema(), '')))"),
            {"key": _PG_LOCK_KEY},
        )


def applied_migrations(conn: Connection) -> list[str]:
    """Names recorded in the database, in the order they were applied ([] for a blank database)."""
    if not inspect(conn).has_table(migrations_table.name):
        return []
    rows = conn.execute(
        select(migrations_table.c.name).order_by(migrations_table.c.applied_at, migrations_table.c.name)
    )
    return [str(name) for name in rows.scalars()]


def check_not_newer(applied: Sequence[str], migrations: Sequence[Migration]) -> None:
    """Raise `LedgerError` if the database records migrations this code does not know."""
    known = set(check_migrations(migrations))
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise LedgerError(
            f"database was written by a newer costwarden (unknown migrations: {', '.join(unknown)}); "
            "upgrade costwarden to use it"
        )


def pending_migrations(engine: Engine, migrations: Sequence[Migration]) -> list[str]:
    """Names of `migrations` not yet applied, in order. Raises `LedgerError` for a newer database."""
    with read_transaction(engine) as conn:
        applied = applied_migrations(conn)
    check_not_newer(applied, migrations)
    return [name for name in check_migrations(migrations) if name not in applied]


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    with write_transaction(engine) as conn:
        _lock(conn)
        yield conn


def upgrade(engine: Engine, migrations: Sequence[Migration]) -> list[str]:
    """Apply pending `migrations` in order, each in its own transaction; return the names applied here."""
    names = check_migrations(migrations)
    with read_transaction(engine) as conn:
        seen = applied_migrations(conn)
    check_not_newer(seen, migrations)
    if all(name in seen for name in names):
        return []  # up to date: no write transaction, no lock
    with _locked(engine) as conn:
        migrations_table.create(conn, checkfirst=True)
        applied = set(applied_migrations(conn))
    check_not_newer(sorted(applied), migrations)
    done: list[str] = []
    for migration in migrations:
        if migration.NAME in applied:
            continue
        with _locked(engine) as conn:
            if migration.NAME in applied_migrations(conn):
                continue  # another process got there first
            try:
                migration.upgrade(conn)
            except LedgerError:
                raise
            except Exception as exc:
                raise LedgerError(f"migration {migration.NAME} failed: {exc}") from exc
            conn.execute(migrations_table.insert().values(name=migration.NAME, applied_at=now_micros()))
        done.append(migration.NAME)
        # a blank database being created is no news; an existing one changing is
        _log.log(
            logging.INFO if seen else logging.DEBUG,
            "upgraded the ledger at %s: applied migration %s",
            _where(engine),
            migration.NAME,
        )
    return done


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
