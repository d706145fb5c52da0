"""API keys in the ledger database (table `api_keys`, created by migration `m0016_api_keys`): hashes of the
secrets, roles and restrictions, so that every `serve` process and gateway on the database knows the same
keys. The protocol and the in-memory double are in `costwarden.storage.api_keys`."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, PrimaryKeyConstraint, String, Table, func, select, update
from sqlalchemy.exc import IntegrityError

from costwarden.storage.api_keys import StoredKey
from costwarden.storage.codec import from_micros, to_micros
from costwarden.storage.sql.engine import read_transaction, write_transaction
from costwarden.storage.sql.schema import metadata, text_type

__all__ = ["api_keys", "SqlKeyStore"]

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), nullable=False),
    Column("name", text_type(), nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("projects", text_type(), nullable=False),
    Column("agent", text_type(), nullable=True),
    Column("overrides", text_type(), nullable=False),
    Column("details", text_type(), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_api_keys"),
)


def _row(key: StoredKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "secret_hash": key.secret_hash,
        "projects": json.dumps(list(key.projects)),
        "agent": key.agent,
        "overrides": json.dumps(list(key.overrides)),
        "details": json.dumps(key.details, sort_keys=True),
        "created_at": to_micros(key.created_at),
        "revoked_at": to_micros(key.revoked_at) if key.revoked_at is not None else None,
    }


def _key(row: Any) -> StoredKey:
    return StoredKey(
        id=str(row.id),
        name=str(row.name),
        role=str(row.role),
        secret_hash=str(row.secret_hash),
        created_at=from_micros(int(row.created_at)),
        projects=tuple(json.loads(row.projects)),
        agent=row.agent,
        overrides=tuple(json.loads(row.overrides)),
        revoked_at=from_micros(int(row.revoked_at)) if row.revoked_at is not None else None,
        details=dict(json.loads(row.details)),
    )


class SqlKeyStore:
    """API keys in the ledger database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, key: StoredKey) -> None:
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(api_keys.insert().values(**_row(key)))
        except IntegrityError:
            raise ValueError(f"an API key with id {key.id!r} exists") from None

    def get(self, key_id: str) -> StoredKey | None:
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return _key(row) if row is not None else None

    def all(self, *, include_revoked: bool = False) -> list[StoredKey]:
        stmt = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        if not include_revoked:
            stmt = stmt.where(api_keys.c.revoked_at.is_(None))
        with read_transaction(self.engine) as conn:
            return [_key(row) for row in conn.execute(stmt)]

    def revoke(self, key_id: str, at: Any) -> bool:
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=to_micros(at))
            )
        return bool(result.rowcount)

    def active_count(self) -> int:
        with read_transaction(self.engine) as conn:
            count = conn.execute(
                select(func.count()).select_from(api_keys).where(api_keys.c.revoked_at.is_(None))
            ).scalar_one()
        return int(count)
