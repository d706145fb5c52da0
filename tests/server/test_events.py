"""`POST /api/v1/events`: one event or a batch, priced on arrival, idempotent by id, per-event errors
without dropping the good ones; body size limit."""

from __future__ import annotations

from decimal import Decimal

from costwarden.storage.ledger import EventQuery
from server.conftest import Running

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 200}


def test_one_event_is_priced_and_stored(served: Running) -> None:
    response = served.client().post(
        "/api/v1/events",
        json={
            **EVENT,
            "id": "one",
            "project": "web",
            "tags": {"team": "a"},
            "occurred_at": "2026-11-20T10:00:00+01:00",
        },
    )
    body = response.json()
    assert response.status_code == 200 and body["schema"] == "costwarden.ingest/1"
    assert body["accepted"] == 1 and body["errors"] == []
    stored = served.warden.ledger.get("one")
    assert stored is not None and stored.cost is not None
    assert body["events"] == [
        {"id": "one", "cost": "0.0045", "cost_source": "computed", "provider": "openai", "model": "gpt-4o"}
    ]
    assert stored.cost.total == Decimal("0.0045")
    assert stored.attribution.tags == {"team": "a"}
    assert stored.occurred_at.isoformat() == "2026-11-20T09:00:00+00:00"
    assert stored.source.value == "api"


def test_a_batch_keeps_the_good_events_and_names_the_bad(served: Running) -> None:
    batch = [
        {**EVENT, "id": "g1"},
        {"provider": "openai", "id": "b1"},
        {**EVENT, "id": "b2", "input_tokens": -5},
        {**EVENT, "id": "b3", "occurred_at": "2026-11-20T10:00:00"},
        {**EVENT, "id": "b4", "status": "exploded"},
        {**EVENT, "id": "b5", "colour": "red"},
        "not an object",
        {**EVENT, "id": "b6", "provider_cost": "lots"},
        {**EVENT, "id": "g2", "provider_cost": "0.01"},
    ]
    body = served.client().post("/api/v1/events", json={"events": batch}).json()
    assert body["accepted"] == 2 and body["rejected"] == 7
    fields = {(e["index"], e["id"], e["field"]) for e in body["errors"]}
    assert fields == {
        (1, "b1", "model"),
        (2, "b2", "input_tokens"),
        (3, "b3", "occurred_at"),
        (4, "b4", "status"),
        (5, "b5", "colour"),
        (6, None, None),
        (7, "b6", "provider_cost"),
    }
    assert all(e["message"] for e in body["errors"])
    ledger = served.warden.ledger
    assert ledger.get("g1") is not None and ledger.get("g2") is not None
    assert ledger.totals()[0].events == 2


def test_the_same_ids_again_are_stored_once(served: Running) -> None:
    batch = {"events": [{**EVENT, "id": f"e{i}", "occurred_at": "2026-11-20T10:00:00Z"} for i in range(1000)]}
    client = served.client()
    for _ in range(3):
        assert client.post("/api/v1/events", json=batch).json()["accepted"] == 1000
    totals = served.warden.ledger.totals(EventQuery())[0]
    assert totals.events == 1000
    assert totals.cost == Decimal("4.5")


def test_bodies_that_are_not_events(served: Running) -> None:
    client = served.client()
    for content, parameter in ((b"{nope", None), (b"[1, 2]", None), (b'{"events": 3}', "events")):
        response = client.post(
            "/api/v1/events", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["parameter"] == parameter
    too_many = {"events": [EVENT] * 10_001}
    response = client.post("/api/v1/events", json=too_many)
    assert response.status_code == 400 and response.json()["error"]["parameter"] == "events"
    assert served.warden.ledger.totals()[0].events == 0


def test_bodies_over_the_limit_are_413(database: str) -> None:
    from costwarden.config import Settings
    from costwarden.server import ServerOptions
    from costwarden.warden import Warden
    from server.conftest import running

    with (
        Warden(Settings(database=database)) as warden,
        running(warden, ServerOptions(max_body_bytes=2000)) as served,
    ):
        client = served.client()
        big = {"events": [{**EVENT, "id": f"e{i}"} for i in range(100)]}
        response = client.post("/api/v1/events", json=big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"

        def chunks() -> object:
            yield b'{"events": ['
            for i in range(100):
                yield (b"," if i else b"") + b'{"provider": "openai", "model": "gpt-4o", "id": "c%d"}' % i
            yield b"]}"

        streamed = client.post(
            "/api/v1/events", content=chunks(), headers={"content-type": "application/json"}
        )  # type: ignore[arg-type]
        assert streamed.status_code == 413
        assert client.post("/api/v1/events", json=EVENT).status_code == 200
        assert warden.ledger.totals()[0].events == 1
