"""`PUT /api/v1/limits`: the `limits:` block of an orchestrator's config and costwarden's `budgets` list
both replace the budgets set over the API; bad keys are named as the body spells them and nothing is
stored; the limits set are enforced at once; admins only, never a project-restricted key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from costwarden.config import Settings
from costwarden.warden import Warden
from server.conftest import Running, running

SEED = {
    "limits": {
        "global": {"max_tokens_per_day": 1000000, "max_cost_per_day": 50.00, "max_concurrent_agents": 5},
        "per_project": {"default": {"max_cost_per_day": 20.00, "max_cost_per_month": 200.00}},
        "per_agent": {"default": {"max_tokens_per_run": 100000, "max_cost_per_run": 5.00}},
    },
    "projects": {"my-arpg": {"limits": {"max_cost_per_day": 30.00}}},
}


@pytest.fixture
def served(database: str) -> Iterator[Running]:
    warden = Warden(Settings(database=database))
    try:
        with running(warden) as server:
            yield server
    finally:
        warden.close()


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def test_the_limits_block_becomes_budgets(served: Running) -> None:
    client = served.client()
    response = client.put("/api/v1/limits", json=SEED)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["schema"] == "costwarden.limits_set/1"
    saved = _by_id(answer["budgets"])
    assert set(saved) == {
        "limits-global-day",
        "limits-global-concurrent",
        "limits-project-day",
        "limits-project-month",
        "limits-agent-run",
    }
    listed = _by_id(client.get("/api/v1/limits").json())
    assert set(listed) == set(saved)
    assert listed == saved
    day = saved["limits-global-day"]
    assert (day["period"], day["cost_usd"], day["tokens"], day["action"]) == (
        "day",
        "50.00",
        1000000,
        "block",
    )
    assert saved["limits-agent-run"]["action"] == "terminate_run"
    assert saved["limits-global-concurrent"]["max_concurrent"] == 5
    sources = {m["source"]: m["target"] for m in answer["mapped"]}
    assert sources["limits.global.max_cost_per_day"].endswith(".cost_usd")
    assert sources["projects.my-arpg.limits.max_cost_per_day"].endswith(".overrides.my-arpg.cost_usd")
    assert saved["limits-project-day"]["overrides"] != {}  # my-arpg's own day limit

    # costwarden's own shape replaces them
    native = {"budgets": [{"id": "tiny", "period": "day", "cost_usd": "0.001", "scope": "project"}]}
    replaced = client.put("/api/v1/limits", json=native).json()
    assert [b["id"] for b in replaced["budgets"]] == ["tiny"]
    assert "limits-global-day" in replaced["removed"] and replaced["mapped"] == []
    assert [r["id"] for r in client.get("/api/v1/limits").json()] == ["tiny"]
    call = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "project": "web"}
    refused = client.post("/api/v1/admissions", json=call)  # enforced at once
    assert refused.status_code == 429 and refused.json()["error"]["details"]["budget_id"] == "tiny"


@pytest.mark.parametrize(
    ("body", "parameter", "words"),
    [
        ({"limits": {"global": {"max_cost_per_dya": 5}}}, "limits.global.max_cost_per_dya", "unknown key"),
        ({"limits": {"global": {"max_cost_per_day": "lots"}}}, "limits.global.max_cost_per_day", ""),
        ({"limits": {"per_team": {}}}, "limits.per_team", "unknown key"),
        ({"budgets": [{"id": "a", "period": "fortnight", "cost_usd": 1}]}, "budgets[0].period", ""),
        ({"budgets": [{"period": "day", "cost_usd": 1}]}, "budgets[0].id", "id"),
        (
            {
                "budgets": [
                    {"id": "a", "period": "day", "cost_usd": 1},
                    {"id": "a", "period": "day", "cost_usd": 2},
                ]
            },
            "budgets[1].id",
            "twice",
        ),
        ({"budgets": [], "limits": {}}, "budgets", "not both"),
        ({"pricing": {}}, "pricing", "pricing"),
    ],
)
def test_bad_limits_are_named_and_nothing_is_stored(
    served: Running, body: dict[str, Any], parameter: str, words: str
) -> None:
    client = served.client()
    assert (
        client.put(
            "/api/v1/limits", json={"budgets": [{"id": "kept", "period": "month", "cost_usd": 1}]}
        ).status_code
        == 200
    )
    response = client.put("/api/v1/limits", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["parameter"] == parameter
    assert words in error["message"]
    assert [r["id"] for r in client.get("/api/v1/limits").json()] == ["kept"]


def test_admins_only_and_never_a_restricted_key(served: Running) -> None:
    admin = served.key("admin")
    for secret in (served.key("writer"), served.key("reader"), served.key("admin", "web")):
        response = served.client(secret).put("/api/v1/limits", json=SEED)
        assert response.status_code == 403
    assert served.client(admin).get("/api/v1/limits").json() == []
    assert served.client(admin).put("/api/v1/limits", json=SEED).status_code == 200
