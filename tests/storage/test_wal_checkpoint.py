"""The background WAL checkpointer: commits do not checkpoint, the thread does; it ends with the ledger."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from costwarden.core.usage import UsageEvent
from costwarden.storage.sql.engine import SQLITE_AUTOCHECKPOINT_PAGES, checkpointer_of
from costwarden.storage.sql.ledger import open_ledger

MakeEvent = Callable[..., UsageEvent]


def test_checkpoints_run_in_the_background_and_stop_on_close(tmp_path: Path, make_event: MakeEvent) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    checkpointer = checkpointer_of(ledger.engine)
    assert checkpointer is not None
    with ledger.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        mode = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (pages, mode) == (SQLITE_AUTOCHECKPOINT_PAGES, 1)  # 1: NORMAL
    for i in range(20):
        ledger.append(make_event(id=f"e{i}"))
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.checkpoints > 0
    thread = checkpointer._thread
    ledger.close()
    assert thread is not None and not thread.is_alive()
    with sqlite3.connect(tmp_path / "l.db") as raw:
        assert raw.execute("SELECT count(*) FROM events").fetchone() == (20,)


def test_memory_databases_have_no_checkpointer() -> None:
    with open_ledger(":memory:") as ledger:
        assert checkpointer_of(ledger.engine) is None


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "gone.db"))
    checkpointer = checkpointer_of(ledger.engine)
    assert checkpointer is not None
    ledger.close()
    (tmp_path / "gone.db").unlink()
    assert checkpointer.checkpoint() is False
    assert not (tmp_path / "gone.db").exists()
