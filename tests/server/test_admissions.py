"""Admissions over HTTP: admit answers the route and an id, settle records the real usage in its place,
release gives it back; a budget with no room is a 429 carrying the notice and `resets_at`; settled,
released, expired and made-up ids each get their own answer; writer keys only, and a key of project A
cannot admit, settle or release in project B. SQLite and PostgreSQL, real servers, real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from costwarden.config import Settings
from costwarden.warden import Warden
from server.conftest import Running, running

CALL = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "max_tokens": 500}
USED = {"input_tokens": 1000, "output_tokens": 200}


def _served(database: str, **settings: Any) -> Iterator[Running]:
    warden = Warden(Settings(database=database, **settings))
    try:
        with running(warden) as served:
            yield served
    finally:
        warden.close()


@pytest.fixture
def budgeted(database: str) -> Iterator[Running]:
    """A server whose project `web` may spend $0.02 a month (a call here reserves $0.0075)."""
    budgets = [{"id": "web", "scope": "project", "value": "web", "period": "month", "cost_usd": "0.02"}]
    yield from _served(database, budgets=budgets)


def test_admit_then_settle_records_the_call(budgeted: Running) -> None:
    client = budgeted.client()
    response = client.post("/api/v1/admissions", json={**CALL, "project": "web", "agent": "ts-agent"})
    assert response.status_code == 201, response.text
    admitted = response.json()
    assert admitted["schema"] == "costwarden.admission/1"
    assert (admitted["provider"], admitted["model"], admitted["decision"]) == ("openai", "gpt-4o", "allow")
    assert Decimal(admitted["reserved"]) == Decimal("0.0075")
    assert datetime.fromisoformat(admitted["expires_at"]) > datetime.fromisoformat(
        "2026-01-01T00:00:00+00:00"
    )
    held = client.get("/api/v1/limits/status").json()
    assert [(b["id"], b["reserved"]) for b in held] == [("web", "0.0075")]  # held while in flight

    settled = client.post(f"/api/v1/admissions/{admitted['id']}/settle", json=USED)
    assert settled.status_code == 200, settled.text
    event = settled.json()
    assert event["id"] == admitted["call_id"]
    assert Decimal(event["cost"]) == Decimal("0.0045")  # 1000 in at $2.50/M + 200 out at $10/M
    stored = budgeted.warden.ledger.get(admitted["call_id"])
    assert stored is not None
    assert (stored.attribution.project, stored.attribution.agent) == ("web", "ts-agent")
    assert stored.usage.output_tokens == 200
    again = client.post(f"/api/v1/admissions/{admitted['id']}/settle", json=USED)
    assert again.status_code == 200 and again.json() == event  # a retried settle stores nothing twice
    other = client.post(f"/api/v1/admissions/{admitted['id']}/settle", json={**USED, "output_tokens": 300})
    assert other.status_code == 409 and other.json()["error"]["code"] == "admission_conflict"


def test_a_budget_without_room_refuses_with_the_notice_and_reset(budgeted: Running) -> None:
    client = budgeted.client()
    ids = []
    for _ in range(2):
        response = client.post("/api/v1/admissions", json={**CALL, "project": "web"})
        assert response.status_code == 201
        ids.append(response.json()["id"])
    refused = client.post("/api/v1/admissions", json={**CALL, "project": "web"})
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert "web" in error["message"]
    assert error["details"]["budget_id"] == "web"
    assert error["details"]["resets_at"] is not None
    assert int(refused.headers["retry-after"]) >= 1
    # releasing one gives its room back
    assert client.post(f"/api/v1/admissions/{ids[0]}/release").status_code == 204
    assert client.post(f"/api/v1/admissions/{ids[0]}/release").status_code == 204  # again: no change
    assert client.post("/api/v1/admissions", json={**CALL, "project": "web"}).status_code == 201
    released = client.post(f"/api/v1/admissions/{ids[0]}/settle", json=USED)
    assert released.status_code == 409 and released.json()["error"]["code"] == "admission_released"
    # another project is not held by `web`'s budget
    assert client.post("/api/v1/admissions", json={**CALL, "project": "api"}).status_code == 201


def test_made_up_and_altered_ids_are_not_found(budgeted: Running) -> None:
    client = budgeted.client()
    admitted = client.post("/api/v1/admissions", json=CALL).json()
    token: str = admitted["id"]
    altered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in ("nope", "cw1.e30.c2ln", altered):
        response = client.post(f"/api/v1/admissions/{bad}/settle", json=USED)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["parameter"] == "admission_id"
        assert client.post(f"/api/v1/admissions/{bad}/release").status_code == 404
    bad_usage = client.post(f"/api/v1/admissions/{token}/settle", json={"output_tokens": -1})
    assert bad_usage.status_code == 422
    bad_cost = client.post(f"/api/v1/admissions/{token}/settle", json={**USED, "provider_cost": "lots"})
    assert bad_cost.status_code == 400 and bad_cost.json()["error"]["parameter"] == "provider_cost"
    assert client.post("/api/v1/admissions", json={"provider": "openai"}).status_code == 422
    assert client.post("/api/v1/admissions", json={**CALL, "colour": "red"}).status_code == 422


def test_an_expired_admission_is_gone(database: str) -> None:
    for served in _served(database, admission={"reservation_ttl": "1s"}):
        client = served.client()
        admitted = client.post("/api/v1/admissions", json=CALL).json()
        time.sleep(1.2)
        response = client.post(f"/api/v1/admissions/{admitted['id']}/settle", json=USED)
        assert response.status_code == 410, response.text
        assert response.json()["error"]["code"] == "admission_expired"
        assert served.warden.ledger.get(admitted["call_id"]) is None


def test_roles_and_projects_cannot_be_crossed(budgeted: Running) -> None:
    everything = budgeted.key("writer")
    writer_web = budgeted.client(budgeted.key("writer", "web"))
    reader = budgeted.client(budgeted.key("reader"))
    assert reader.post("/api/v1/admissions", json=CALL).status_code == 403

    into_api = writer_web.post("/api/v1/admissions", json={**CALL, "project": "api"})
    assert into_api.status_code == 403
    assert into_api.json()["error"]["code"] == "project_forbidden"
    own = writer_web.post("/api/v1/admissions", json=CALL)  # its one project by default
    assert own.status_code == 201, own.text
    assert budgeted.warden.ledger.get(own.json()["call_id"]) is None
    assert writer_web.post(f"/api/v1/admissions/{own.json()['id']}/settle", json=USED).status_code == 200
    assert budgeted.warden.ledger.get(own.json()["call_id"]).attribution.project == "web"  # type: ignore[union-attr]

    theirs = budgeted.client(everything).post("/api/v1/admissions", json={**CALL, "project": "api"}).json()
    for action in ("settle", "release"):
        response = writer_web.post(f"/api/v1/admissions/{theirs['id']}/{action}", json=USED)
        assert response.status_code == 403, action
    assert reader.post(f"/api/v1/admissions/{theirs['id']}/release").status_code == 403
    assert budgeted.client(everything).post(f"/api/v1/admissions/{theirs['id']}/release").status_code == 204


def test_the_metrics_count_admissions_and_refusals(budgeted: Running) -> None:
    client = budgeted.client()
    for _ in range(3):
        client.post("/api/v1/admissions", json={**CALL, "project": "web"})
    text = client.get("/metrics").text
    assert 'costwarden_admissions_total{decision="allow"} 2.0' in text
    assert 'costwarden_refusals_total{budget="web"} 1.0' in text
    assert "costwarden_admission_seconds_count 3.0" in text
