"""The cold half of budget storage in SQL: budgets set from the CLI and the alert feed, plus the cursor
plumbing `SqlBudgetStore` shares (raw DBAPI cursors inside the ledger's transactions, retried on a
PostgreSQL deadlock). Tables are declared in `costwarden.storage.sql.budget_store`."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from costwarden.errors import LedgerError
from costwarden.storage.budgets import Acknowledgement, AlertRecord, SavedBudget
from costwarden.storage.codec import from_micros, now_micros, to_micros
from costwarden.storage.outbox import NewDelivery
from costwarden.storage.sql.ledger import SqlLedger

__all__ = ["BudgetSql", "alert_from_row"]

_T = TypeVar("_T")
_VERSION = "budgets_version"
_THRESHOLDS = "alert_thresholds"
_TOKEN_KEY = "admission_token_key"
_RETRIES = 8
_ALERT_COLUMNS = (
    "at, kind, level, budget_id, scope, period_key, dimension, threshold, limit_units, spent_units,"
    " reserved_units, requested_units, resets_at, message, details, dedupe"
)
_ENQUEUE = (
    "INSERT INTO alert_outbox (message_id, alert_id, channel, created_at, status, attempts, next_attempt_at)"
    " VALUES (?, ?, ?, ?, 'pending', 0, ?)"
)
"""One outbox row (table in `costwarden.storage.sql.outbox_store`), due at once."""
_SELECT_ALERTS = (
    "SELECT a.id, "
    + ", ".join(f"a.{c.strip()}" for c in _ALERT_COLUMNS.split(","))
    + ", k.acknowledged_at, k.acknowledged_by, k.note"
    " FROM budget_alerts a LEFT JOIN alert_acks k ON k.alert_id = a.id"
)
"""The feed with each alert's acknowledgement (table `alert_acks`), if any."""


def _retryable(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in ("DeadlockDetected", "SerializationFailure") or "deadlock detected" in str(exc)


class BudgetSql:
    """Transactions and raw cursors on a `SqlLedger`'s engine, and the `BudgetRecords` half."""

    def __init__(self, ledger: SqlLedger) -> None:
        self.ledger = ledger
        self._postgres = ledger.dialect == "postgresql"

    def _sql(self, sql: str) -> str:
        """Statements are written with `?` placeholders; psycopg wants `%s`."""
        return sql.replace("?", "%s") if self._postgres else sql

    @contextmanager
    def _cursor(self, write: bool = True) -> Iterator[Any]:
        """A raw DBAPI cursor in its own transaction on a pooled connection of the ledger's engine
        (SQLite writes: `BEGIN IMMEDIATE`, reads: a deferred snapshot). Commits on success."""
        try:
            raw = self.ledger.engine.raw_connection()
        except SQLAlchemyError as exc:
            raise LedgerError(f"budget storage failed: {exc}") from exc
        try:
            cursor = raw.cursor()
            try:
                if not self._postgres:
                    cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield cursor
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                cursor.close()
        except (SQLAlchemyError, OSError) as exc:
            raise LedgerError(f"budget storage failed: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("psycopg", "sqlite3")):
                raise LedgerError(f"budget storage failed: {exc}") from exc
            raise
        finally:
            raw.close()

    def _retrying(self, attempt: Callable[[], _T]) -> _T:
        """Run `attempt()` (one transaction); on PostgreSQL retry it when chosen as a deadlock victim."""
        for tries in range(_RETRIES):
            try:
                return attempt()
            except LedgerError as exc:
                if not (self._postgres and _retryable(exc.__cause__ or exc)) or tries == _RETRIES - 1:
                    raise
                time.sleep(0.001 * (tries + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def token_key(self) -> bytes:
        """The key admission tokens are signed with: made once per database (`budget_meta`), the same for
        every process that opens it."""
        select = self._sql("SELECT value FROM budget_meta WHERE name = ?")
        with self._cursor(write=False) as cursor:
            cursor.execute(select, (_TOKEN_KEY,))
            row = cursor.fetchone()
        if row is None:  # the first token of this database: one process's key wins, all read it
            with self._cursor() as cursor:
                cursor.execute(
                    self._sql("INSERT INTO budget_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING"),
                    (_TOKEN_KEY, secrets.token_hex(32)),
                )
                cursor.execute(select, (_TOKEN_KEY,))
                row = cursor.fetchone()
        return bytes.fromhex(str(row[0]))

    # -- saved budgets -----------------------------------------------------------------------------------

    def saved_budgets(self) -> list[SavedBudget]:
        with self._cursor(write=False) as cursor:
            cursor.execute("SELECT id, definition, updated_at FROM budget_definitions ORDER BY id")
            return [SavedBudget(r[0], json.loads(r[1]), r[2] / 1e6) for r in cursor.fetchall()]

    def budgets_version(self) -> str:
        with self._cursor(write=False) as cursor:
            cursor.execute(self._sql("SELECT value FROM budget_meta WHERE name = ?"), (_VERSION,))
            row = cursor.fetchone()
            return "" if row is None else str(row[0])

    def _bump(self, cursor: Any) -> None:
        cursor.execute(
            self._sql(
                "INSERT INTO budget_meta (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            (_VERSION, str(now_micros())),
        )

    def save_budget(self, budget: SavedBudget) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO budget_definitions (id, definition, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET definition = excluded.definition,"
                    " updated_at = excluded.updated_at"
                ),
                (budget.id, json.dumps(dict(budget.definition), sort_keys=True, default=str), now_micros()),
            )
            self._bump(cursor)

    def remove_budget(self, budget_id: str) -> bool:
        with self._cursor() as cursor:
            cursor.execute(self._sql("DELETE FROM budget_definitions WHERE id = ?"), (budget_id,))
            found = bool(cursor.rowcount)
            if found:
                self._bump(cursor)
            return found

    # -- thresholds set from the CLI ------------------------------------------------------------------------

    def alert_thresholds(self) -> list[dict[str, Any]]:
        with self._cursor(write=False) as cursor:
            cursor.execute(self._sql("SELECT value FROM budget_meta WHERE name = ?"), (_THRESHOLDS,))
            row = cursor.fetchone()
        items = json.loads(row[0]) if row is not None else []
        return [dict(item) for item in items if isinstance(item, dict)]

    def save_alert_thresholds(self, items: Sequence[Mapping[str, Any]]) -> None:
        text = json.dumps([dict(item) for item in items], sort_keys=True, default=str)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO budget_meta (name, value) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                ),
                (_THRESHOLDS, text),
            )
            self._bump(cursor)

    # -- the alert feed ----------------------------------------------------------------------------------

    def add_alert(self, alert: AlertRecord, deliveries: Sequence[NewDelivery] = ()) -> AlertRecord | None:
        marks = ", ".join(["?"] * 16)
        sql = f"INSERT INTO budget_alerts ({_ALERT_COLUMNS}) VALUES ({marks})"
        if alert.dedupe is not None:
            sql += " ON CONFLICT (dedupe) DO NOTHING"
        sql += " RETURNING id"
        row = (
            to_micros(alert.at),
            alert.kind,
            alert.level,
            alert.budget_id,
            alert.scope,
            alert.period_key,
            alert.dimension,
            alert.threshold,
            alert.limit,
            alert.spent,
            alert.reserved,
            alert.requested,
            None if alert.resets_at is None else to_micros(alert.resets_at),
            alert.message,
            alert.details_json(),
            alert.dedupe,
        )
        with self._cursor() as cursor:
            cursor.execute(self._sql(sql), row)
            found = cursor.fetchone()
            if found is not None and deliveries:
                # the alert and its outbox rows commit together: no alert without its deliveries
                now = now_micros()
                rows = [(d.message_id, int(found[0]), d.channel, now, now) for d in deliveries]
                cursor.executemany(self._sql(_ENQUEUE), rows)
        if found is None:
            return None
        return AlertRecord(**{**_fields(alert), "id": int(found[0])})

    def alerts(
        self,
        *,
        limit: int = 50,
        kinds: Sequence[str] | None = None,
        budget_id: str | None = None,
        acknowledged: bool | None = None,
    ) -> list[AlertRecord]:
        where: list[str] = []
        params: list[Any] = []
        if kinds:
            where.append(f"a.kind IN ({', '.join(['?'] * len(kinds))})")
            params.extend(kinds)
        if budget_id is not None:
            where.append("a.budget_id = ?")
            params.append(budget_id)
        if acknowledged is not None:
            where.append("k.alert_id IS NOT NULL" if acknowledged else "k.alert_id IS NULL")
        sql = _SELECT_ALERTS
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY a.at DESC, a.id DESC LIMIT {int(limit)}"
        with self._cursor(write=False) as cursor:
            cursor.execute(self._sql(sql), params)
            return [_alert(row) for row in cursor.fetchall()]

    def alert(self, alert_id: int) -> AlertRecord | None:
        with self._cursor(write=False) as cursor:
            cursor.execute(self._sql(_SELECT_ALERTS + " WHERE a.id = ?"), (alert_id,))
            row = cursor.fetchone()
        return None if row is None else _alert(row)

    def acknowledge(self, alert_id: int, ack: Acknowledgement) -> AlertRecord | None:
        def attempt() -> AlertRecord | None:
            with self._cursor() as cursor:
                cursor.execute(self._sql("SELECT id FROM budget_alerts WHERE id = ?"), (alert_id,))
                if cursor.fetchone() is None:
                    return None
                cursor.execute(
                    self._sql(
                        "INSERT INTO alert_acks (alert_id, acknowledged_at, acknowledged_by, note)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING"
                    ),
                    (alert_id, to_micros(ack.at), ack.by, ack.note),
                )
                cursor.execute(self._sql(_SELECT_ALERTS + " WHERE a.id = ?"), (alert_id,))
                return _alert(cursor.fetchone())

        return self._retrying(attempt)

    def close(self) -> None:
        return None


def _fields(alert: AlertRecord) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in AlertRecord.__dataclass_fields__}


def alert_from_row(row: Sequence[Any]) -> AlertRecord:
    """An alert from its row: id, then the columns in `budget_alerts` order (at, kind, ..., details)."""
    return _alert(row)


def _alert(row: Sequence[Any]) -> AlertRecord:
    """An alert from its row; with three more columns (at, by, note of `alert_acks`), its acknowledgement."""
    acked = len(row) > 17 and row[17] is not None
    return AlertRecord(
        id=int(row[0]),
        at=from_micros(int(row[1])),
        kind=row[2],
        level=row[3],
        budget_id=row[4],
        scope=row[5],
        period_key=row[6],
        dimension=row[7],
        threshold=row[8],
        limit=int(row[9]),
        spent=int(row[10]),
        reserved=int(row[11]),
        requested=int(row[12]),
        resets_at=None if row[13] is None else from_micros(int(row[13])),
        message=row[14],
        details=json.loads(row[15]) if row[15] else {},
        acknowledged=Acknowledgement(from_micros(int(row[17])), row[18], row[19]) if acked else None,
    )
