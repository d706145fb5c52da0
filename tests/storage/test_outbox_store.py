"""The alert outbox on SQLite and PostgreSQL: written with its alert or not at all, leased to one deliverer
at a time, every attempt logged, a channel reported failing exactly once per run of failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from costwarden.clock import SYSTEM_CLOCK
from costwarden.storage.budgets import AlertRecord
from costwarden.storage.outbox import Attempt, NewDelivery, SavedChannel
from costwarden.storage.sql.budget_store import SqlBudgetStore
from costwarden.storage.sql.ledger import SqlLedger, open_ledger
from costwarden.storage.sql.outbox_store import SqlOutbox

T0 = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest) -> Iterator[SqlLedger]:
    url = str(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))
    with open_ledger(url) as opened:
        yield opened


def threshold(percent: str, budget: str = "monthly") -> AlertRecord:
    return AlertRecord(
        kind="threshold",
        at=T0,
        budget_id=budget,
        scope="global",
        period_key="2026-11",
        dimension="cost",
        level="warning",
        message=f"{budget} reached {percent}%",
        limit=10,
        spent=8,
        threshold=percent,
    )


def attempt(delivery_id: int, number: int, ok: bool, outcome: str = "http 503") -> Attempt:
    return Attempt(
        delivery_id, number, SYSTEM_CLOCK.now(), ok, "http 200" if ok else outcome, None, 5, "test"
    )


def test_an_alert_and_its_deliveries_are_written_together_once(ledger: SqlLedger) -> None:
    records, outbox = SqlBudgetStore(ledger), SqlOutbox(ledger.engine)
    deliveries = [NewDelivery("ops", "msg_a"), NewDelivery("team", "msg_b")]
    stored = records.add_alert(threshold("80"), deliveries)
    assert stored is not None and stored.id is not None
    # the same crossing noticed by another process: no alert, and no second set of deliveries
    assert records.add_alert(threshold("80"), [NewDelivery("ops", "msg_c")]) is None
    rows = outbox.deliveries()
    assert sorted((d.channel, d.message_id, d.status, d.alert.id) for d in rows) == [
        ("ops", "msg_a", "pending", stored.id),
        ("team", "msg_b", "pending", stored.id),
    ]
    assert rows[0].alert.message == "monthly reached 80%"
    assert outbox.backlog() == {"ops": {"pending": 1}, "team": {"pending": 1}}


def test_a_failed_enqueue_leaves_no_alert(ledger: SqlLedger) -> None:
    records = SqlBudgetStore(ledger)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        records.add_alert(threshold("50"), [NewDelivery("ops", "same"), NewDelivery("team", "same")])
    assert records.alerts() == []
    assert records.add_alert(threshold("50"), [NewDelivery("ops", "m1")]) is not None


def test_claims_lease_each_row_to_one_deliverer(ledger: SqlLedger) -> None:
    records, outbox = SqlBudgetStore(ledger), SqlOutbox(ledger.engine)
    for percent in ("50", "80", "95"):
        records.add_alert(threshold(percent), [NewDelivery("ops", f"msg_{percent}")])
    now = SYSTEM_CLOCK()
    first = outbox.claim(now=now, owner="a", lease=60, channels=["ops"], limit=2)
    second = outbox.claim(now=now, owner="b", lease=60, channels=["ops"], limit=5)
    assert [d.message_id for d in first] == ["msg_50", "msg_80"]
    assert [d.message_id for d in second] == ["msg_95"]
    assert outbox.claim(now=now, owner="c", lease=60, channels=["ops"]) == []
    # a deliverer that died: its lease runs out and the row is due again
    assert [d.message_id for d in outbox.claim(now=now + 61, owner="c", lease=60, channels=["ops"])] == [
        "msg_50",
        "msg_80",
        "msg_95",
    ]
    assert outbox.claim(now=now + 200, owner="d", lease=60, channels=["other"]) == []


def test_concurrent_claims_never_hand_out_a_row_twice(ledger: SqlLedger) -> None:
    records, outbox = SqlBudgetStore(ledger), SqlOutbox(ledger.engine)
    for n in range(40):
        records.add_alert(threshold(str(n + 1)), [NewDelivery("ops", f"m{n}")])
    got: list[str] = []
    lock = threading.Lock()

    def take(owner: str) -> None:
        while True:
            claimed = outbox.claim(now=SYSTEM_CLOCK(), owner=owner, lease=600, channels=["ops"], limit=1)
            if not claimed:
                return
            with lock:
                got.extend(d.message_id for d in claimed)

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == sorted(f"m{n}" for n in range(40))


def test_finish_logs_attempts_and_schedules_retries(ledger: SqlLedger) -> None:
    records, outbox = SqlBudgetStore(ledger), SqlOutbox(ledger.engine)
    records.add_alert(threshold("80"), [NewDelivery("ops", "m1")])
    now = SYSTEM_CLOCK()
    (row,) = outbox.claim(now=now, owner="a", lease=60, channels=["ops"])
    outbox.finish(row, attempt(row.id, 1, False), status="pending", next_attempt_at=now + 30)
    assert outbox.claim(now=now + 29, owner="a", lease=60, channels=["ops"]) == []
    (again,) = outbox.claim(now=now + 30, owner="a", lease=60, channels=["ops"])
    assert again.attempts == 1 and again.last_error == "http 503"
    outbox.finish(again, attempt(row.id, 2, True), status="delivered")
    (done,) = outbox.deliveries(status="delivered")
    assert done.attempts == 2 and done.finished_at is not None and done.last_error is None
    assert [(a.attempt, a.ok, a.outcome) for a in outbox.attempts([row.id])] == [
        (1, False, "http 503"),
        (2, True, "http 200"),
    ]
    assert outbox.delivered_since("ops", now - 1) == 1
    assert outbox.claim(now=now + 3600, owner="a", lease=60, channels=["ops"]) == []


def test_a_channel_is_reported_failing_once_and_recovered_once(ledger: SqlLedger) -> None:
    records, outbox = SqlBudgetStore(ledger), SqlOutbox(ledger.engine)
    for n in range(6):
        records.add_alert(threshold(str(n + 1)), [NewDelivery("ops", f"m{n}")])
    rows = outbox.claim(now=SYSTEM_CLOCK(), owner="a", lease=60, channels=["ops"], limit=6)
    changes = [
        outbox.finish(r, attempt(r.id, 1, False), status="pending", next_attempt_at=0, failing_after=3)
        for r in rows[:5]
    ]
    assert changes == [None, None, "failing", None, None]
    health = outbox.health()["ops"]
    assert health.failures == 5 and health.reported and health.failing_since is not None
    assert (
        outbox.finish(rows[5], attempt(rows[5].id, 1, True), status="delivered", failing_after=3)
        == "recovered"
    )
    assert outbox.health()["ops"].failures == 0
    (row,) = outbox.claim(now=SYSTEM_CLOCK() + 1, owner="a", lease=60, channels=["ops"], limit=1)
    assert outbox.finish(row, attempt(row.id, 2, True), status="delivered", failing_after=3) is None


def test_rate_limited_rows_are_counted_until_the_next_delivery(ledger: SqlLedger) -> None:
    records, outbox = SqlBudgetStore(ledger), SqlOutbox(ledger.engine)
    for n in range(4):
        records.add_alert(threshold(str(n + 1)), [NewDelivery("ops", f"m{n}")])
    rows = outbox.claim(now=SYSTEM_CLOCK(), owner="a", lease=60, channels=["ops"], limit=4)
    outbox.finish(rows[0], attempt(rows[0].id, 1, True), status="delivered")
    for row in rows[1:3]:
        outbox.finish(row, attempt(row.id, 1, False, "suppressed"), status="suppressed")
    assert outbox.suppressed_since_delivered("ops") == 2
    outbox.finish(rows[3], attempt(rows[3].id, 1, True), status="delivered")
    assert outbox.suppressed_since_delivered("ops") == 0
    assert outbox.backlog() == {"ops": {"delivered": 2, "suppressed": 2}}


def test_saved_channels_and_abandoning_a_removed_one(ledger: SqlLedger) -> None:
    records, outbox = SqlBudgetStore(ledger), SqlOutbox(ledger.engine)
    outbox.save_channel(SavedChannel("ops", {"type": "webhook", "url": "http://a"}))
    outbox.save_channel(SavedChannel("ops", {"type": "webhook", "url": "http://b"}))
    outbox.save_channel(SavedChannel("team", {"type": "slack", "url": "http://c"}))
    assert [(c.name, c.definition["url"]) for c in outbox.saved_channels()] == [
        ("ops", "http://b"),
        ("team", "http://c"),
    ]
    records.add_alert(threshold("80"), [NewDelivery("ops", "m1"), NewDelivery("team", "m2")])
    assert outbox.remove_channel("ops") and not outbox.remove_channel("ops")
    assert outbox.abandon("ops", "channel removed") == 1
    (failed,) = outbox.deliveries(status="failed")
    assert failed.channel == "ops" and failed.last_error == "channel removed"
    assert [c.name for c in outbox.saved_channels()] == ["team"]
