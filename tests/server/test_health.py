"""`/healthz`, `/readyz` (database reachable, migrations current), `/metrics`."""

from __future__ import annotations

from sqlalchemy import text

from costwarden.storage.sql.ledger import SqlLedger
from server.conftest import Running, World


def test_health_and_readiness(served: Running) -> None:
    client = served.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["migrations"] == "current"


def test_not_ready_when_the_database_is_from_a_newer_version(served: Running) -> None:
    ledger = served.warden.ledger
    assert isinstance(ledger, SqlLedger)
    with ledger.engine.begin() as conn:
        conn.execute(text("INSERT INTO costwarden_migrations (name, applied_at) VALUES ('m9999_future', 0)"))
    response = served.client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert served.client().get("/healthz").status_code == 200


def test_metrics(world: World) -> None:
    client = world.server.client()
    client.post(
        "/api/v1/events",
        json={"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "project": "web"},
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    spend = [
        line for line in lines if line.startswith('costwarden_spend_usd_total{model="gpt-4o",project="web"')
    ]
    assert spend == ['costwarden_spend_usd_total{model="gpt-4o",project="web",provider="openai"} 0.0025']
    total = sum(
        float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("costwarden_spend_usd_total{")
    )
    assert abs(total - float(world.warden.ledger.totals()[0].cost)) < 1e-6
    assert any(
        line.startswith('costwarden_budget_utilization_ratio{budget="monthly",scope="global"')
        for line in lines
    )
    assert any(line.startswith("costwarden_admission_seconds_bucket") for line in lines)
