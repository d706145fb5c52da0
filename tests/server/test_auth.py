"""API keys over HTTP: without keys the API is open to this machine only; with keys every request needs a
valid one; each role and each project restriction is tried to be crossed."""

from __future__ import annotations

import pytest

from costwarden.access import key_ring
from server.conftest import Running, World

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 100, "output_tokens": 10}


def test_without_keys_the_api_is_open_to_this_machine(served: Running) -> None:
    assert served.client().get("/api/v1/usage/summary").status_code == 200
    assert served.client().post("/api/v1/events", json=EVENT).status_code == 200


def test_once_a_key_exists_every_request_needs_a_valid_one(served: Running) -> None:
    secret = served.key("admin")
    for client in (served.client(), served.client("cwk_0123456789ab_not-the-secret"), served.client("junk")):
        response = client.get("/api/v1/usage/summary")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "junk" not in response.text and "not-the-secret" not in response.text
    assert served.client(secret).get("/api/v1/usage/summary").status_code == 200
    by_header = served.client().get("/api/v1/usage/summary", headers={"X-API-Key": secret})
    assert by_header.status_code == 200
    assert served.client().get("/healthz").status_code == 200  # health needs no key
    assert served.client().get("/readyz").status_code == 200


def test_a_revoked_key_is_refused(served: Running) -> None:
    secret = served.key("reader")
    served.key("admin")  # keys stay required
    assert served.client(secret).get("/api/v1/usage").status_code == 200
    ring = key_ring(served.warden)
    key = ring.authenticate(secret)
    assert key is not None and ring.revoke(key.id)
    assert served.client(secret).get("/api/v1/usage").status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "allowed"),
    [
        ("reader", "GET", "/api/v1/usage/summary", None, True),
        ("reader", "GET", "/metrics", None, True),
        ("reader", "POST", "/api/v1/events", EVENT, False),
        ("reader", "PUT", "/api/v1/limits/daily", {"period": "day", "cost_usd": "5"}, False),
        ("reader", "GET", "/api/v1/keys", None, False),
        ("writer", "GET", "/api/v1/usage/summary", None, True),
        ("writer", "POST", "/api/v1/events", EVENT, True),
        ("writer", "PUT", "/api/v1/limits/daily", {"period": "day", "cost_usd": "5"}, False),
        ("writer", "DELETE", "/api/v1/limits/daily", None, False),
        ("writer", "POST", "/api/v1/keys", {"role": "admin"}, False),
        ("admin", "PUT", "/api/v1/limits/daily", {"period": "day", "cost_usd": "5"}, True),
        ("admin", "POST", "/api/v1/keys", {"role": "reader"}, True),
        ("admin", "POST", "/api/v1/events", EVENT, True),
        ("gateway", "GET", "/api/v1/usage/summary", None, False),
        ("gateway", "POST", "/api/v1/events", EVENT, False),
    ],
)
def test_roles(
    served: Running, role: str, method: str, path: str, body: dict[str, object] | None, allowed: bool
) -> None:
    projects = ("p",) if role == "gateway" else ()
    secret = served.key(role, *projects)
    response = served.client(secret).request(method, path, json=body)
    if allowed:
        assert response.status_code < 300, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "role_forbidden"


def test_a_writer_of_one_project_cannot_record_into_another(served: Running) -> None:
    secret = served.key("writer", "web")
    client = served.client(secret)
    refused = client.post("/api/v1/events", json={**EVENT, "project": "api", "id": "x1"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "project_forbidden"
    mixed = client.post(
        "/api/v1/events",
        json={
            "events": [
                {**EVENT, "project": "web", "id": "w1"},
                {**EVENT, "project": "api", "id": "a1"},
                {**EVENT, "id": "n1"},
            ]
        },
    ).json()
    assert mixed["accepted"] == 2
    assert [(e["index"], e["code"]) for e in mixed["errors"]] == [(1, "project_forbidden")]
    stored = served.warden.ledger
    assert stored.get("x1") is None and stored.get("a1") is None
    unset = stored.get("n1")
    assert unset is not None and unset.attribution.project == "web"  # the key's one project
    two = served.client(served.key("writer", "web", "docs"))
    assert two.post("/api/v1/events", json={**EVENT, "id": "n2"}).status_code == 403  # which of the two?


def test_a_reader_of_one_project_does_not_see_another(world: World) -> None:
    server = world.server
    reader = server.client(server.key("reader", "frontend"))
    admin = server.client(server.key("admin"))
    own = reader.get("/api/v1/usage/summary").json()
    expected = admin.get("/api/v1/usage/summary", params={"project": "frontend"}).json()
    assert own["totals"] == expected["totals"]
    assert {g["key"]["project"] for g in own["by_project"]} == {"frontend"}
    assert own["budgets"] == []
    for path, params in (
        ("/api/v1/usage/summary", {"project": "data"}),
        ("/api/v1/usage", {"project": ["frontend", "data"]}),
        ("/api/v1/usage/by-agent", {"where": "project=data"}),
        ("/api/v1/insights", {}),
        ("/metrics", {}),
    ):
        response = reader.get(path, params=params)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "project_forbidden"
    pages = reader.get("/api/v1/usage", params={"period": "all", "limit": 1000}).json()
    assert pages["events"] and {e["project"] for e in pages["events"]} == {"frontend"}
    by_project = reader.get("/api/v1/usage/by-project").json()
    assert [r["key"]["project"] for r in by_project["rows"]] == ["frontend"]
    status = reader.get("/api/v1/limits/status").json()
    assert status and {row["scope"] for row in status} == {"project=frontend"}
    assert {r["id"] for r in reader.get("/api/v1/limits").json()} == set()  # no budget is frontend's alone
    other = next(
        e.attribution.session
        for e in world.truth
        if e.attribution.session and e.attribution.project == "data"
    )
    assert reader.get(f"/api/v1/sessions/{other}").status_code == 404
    assert admin.get(f"/api/v1/sessions/{other}").status_code == 200


def test_a_restricted_admin_cannot_change_what_spans_every_project(served: Running) -> None:
    client = served.client(served.key("admin", "web"))
    assert client.put("/api/v1/limits/daily", json={"period": "day", "cost_usd": "5"}).status_code == 403
    assert client.post("/api/v1/keys", json={"role": "admin"}).status_code == 403
    assert client.get("/api/v1/keys").status_code == 403
