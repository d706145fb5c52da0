"""Limits over the API: set, list, status, remove (admin); a bad definition is 400 naming the field; the
config file's budgets cannot be removed here."""

from __future__ import annotations

from costwarden.access import key_ring
from server.conftest import Running, World


def test_set_list_status_and_remove(served: Running) -> None:
    client = served.client()
    row = client.put(
        "/api/v1/limits/web-monthly",
        json={"period": "month", "cost_usd": 200, "scope": "project", "value": "web", "thresholds": ["80"]},
    )
    assert row.status_code == 200, row.text
    assert row.json()["id"] == "web-monthly" and row.json()["cost_usd"] == "200.00"
    assert [r["id"] for r in client.get("/api/v1/limits").json()] == ["web-monthly"]
    client.post(
        "/api/v1/events",
        json={"provider": "openai", "model": "gpt-4o", "input_tokens": 10**6, "project": "web"},
    )
    status = client.get("/api/v1/limits/status").json()
    assert [(s["id"], s["spent"], s["limit"]) for s in status] == [("web-monthly", "2.50", "200.00")]
    again = client.put(
        "/api/v1/limits/web-monthly",
        json={"period": "month", "cost_usd": "1.10", "scope": "project", "value": "web"},
    )
    assert again.json()["cost_usd"] == "1.10"
    assert client.get("/api/v1/limits/status").json()[0]["state"] == "exhausted"
    assert client.delete("/api/v1/limits/web-monthly").status_code == 204
    assert client.get("/api/v1/limits").json() == []
    assert client.delete("/api/v1/limits/web-monthly").status_code == 404


def test_bad_definitions_name_the_field_and_store_nothing(served: Running) -> None:
    client = served.client()
    for body, parameter in (
        ({"period": "fortnight", "cost_usd": "1"}, "period"),
        ({"period": "day", "cost_usd": "-1"}, "cost_usd"),
        ({"period": "day", "cost_usd": "1", "action": "explode"}, "action"),
        ({"period": "day", "cost_usd": "1", "id": "other"}, "id"),
        ({"period": "day", "cost_usd": "1", "colour": "red"}, "colour"),
    ):
        response = client.put("/api/v1/limits/x", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["parameter"] == parameter, response.json()
    assert client.put("/api/v1/limits/bad id!", json={"period": "day"}).status_code == 422
    assert client.get("/api/v1/limits").json() == []


def test_the_config_files_budgets_are_removed_there(world: World) -> None:
    client = world.server.client(key_ring(world.warden).create(role="admin").secret)
    response = client.delete("/api/v1/limits/monthly")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "from_config"
