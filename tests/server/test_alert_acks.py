"""Acknowledging an alert over HTTP (`admin`): who and when are recorded and shown by the feed, the first
acknowledgement is kept, readers and writers cannot, a project-restricted key only its projects' alerts;
the CLI's `alert ack` writes the same record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from costwarden.access import key_ring
from reports.history import NOW
from server.conftest import World


def _alerts(world: World, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
    response = world.server.client(key).get("/api/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def _raise_alerts(world: World) -> list[dict[str, Any]]:
    world.warden.budgets  # noqa: B018 - the engine derives its counters
    world.warden.record(provider="openai", model="gpt-4o", input_tokens=10**6, project="frontend")
    world.warden.record(provider="openai", model="gpt-4o", input_tokens=10**6, project="backend")
    feed = _alerts(world)
    assert feed and all(a["acknowledged"] is None for a in feed)
    return feed


def test_an_admin_acknowledges_and_the_feed_shows_who_and_when(world: World) -> None:
    feed = _raise_alerts(world)
    secret = key_ring(world.warden).create(role="admin", name="ops-oncall").secret
    admin = world.server.client(secret)
    first = feed[-1]["id"]
    response = admin.post(f"/api/v1/alerts/{first}/ack", json={"note": "raising the budget"})
    assert response.status_code == 200, response.text
    acked = response.json()
    assert acked["id"] == first
    assert acked["acknowledged"]["by"].startswith("ops-oncall (key ")
    assert acked["acknowledged"]["note"] == "raising the budget"
    assert datetime.fromisoformat(acked["acknowledged"]["at"]) == NOW  # the server's clock
    reader = world.server.client(key_ring(world.warden).create(role="reader").secret)
    shown = reader.get(f"/api/v1/alerts/{first}").json()
    assert shown["acknowledged"] == acked["acknowledged"]
    listed = reader.get("/api/v1/alerts", params={"acknowledged": "true"}).json()
    assert [a["id"] for a in listed] == [first]
    pending = reader.get("/api/v1/alerts", params={"acknowledged": "false"}).json()
    assert first not in [a["id"] for a in pending] and len(pending) == len(feed) - 1

    again = admin.post(f"/api/v1/alerts/{first}/ack", json={"note": "second thoughts"})
    assert again.status_code == 200
    assert again.json()["acknowledged"] == acked["acknowledged"]  # the first acknowledgement stays


def test_without_a_body_and_for_a_missing_alert(world: World) -> None:
    feed = _raise_alerts(world)
    client = world.server.client()  # no keys: local and unrestricted
    response = client.post(f"/api/v1/alerts/{feed[0]['id']}/ack")
    assert response.status_code == 200, response.text
    assert response.json()["acknowledged"]["note"] is None
    missing = client.post("/api/v1/alerts/999999/ack")
    assert missing.status_code == 404
    assert missing.json()["error"]["parameter"] == "alert_id"
    bad = client.post(f"/api/v1/alerts/{feed[0]['id']}/ack", json={"note": "x", "by": "someone else"})
    assert bad.status_code == 422


@pytest.mark.parametrize("role", ["reader", "writer"])
def test_only_admins_acknowledge(world: World, role: str) -> None:
    feed = _raise_alerts(world)
    admin = key_ring(world.warden).create(role="admin").secret
    client = world.server.client(key_ring(world.warden).create(role=role).secret)
    response = client.post(f"/api/v1/alerts/{feed[0]['id']}/ack")
    assert response.status_code == 403
    assert all(a["acknowledged"] is None for a in _alerts(world, admin))


def test_a_restricted_admin_acknowledges_its_projects_alerts_only(world: World) -> None:
    feed = _raise_alerts(world)
    backend = next(a for a in feed if a["scope"] == "project=backend")
    frontend = next(a for a in feed if a["scope"] == "project=frontend")
    ring = key_ring(world.warden)
    everything = ring.create(role="admin").secret
    client = world.server.client(ring.create(role="admin", projects=["frontend"]).secret)
    refused = client.post(f"/api/v1/alerts/{backend['id']}/ack")
    assert refused.status_code == 404  # not told it exists
    assert client.get(f"/api/v1/alerts/{backend['id']}").status_code == 404
    assert client.post(f"/api/v1/alerts/{frontend['id']}/ack").status_code == 200
    assert [a["id"] for a in _alerts(world, client.headers["authorization"][7:], acknowledged=True)] == [
        frontend["id"]
    ]
    acked = {a["id"] for a in _alerts(world, everything, acknowledged=True)}
    assert acked == {frontend["id"]}
