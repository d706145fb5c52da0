"""The OpenAPI schema: served at /openapi.json, equal to the checked-in docs/openapi.json, and fuzzed with
schemathesis against a running server (zero 5xx, every response as documented)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from costwarden.config import Settings
from costwarden.server.openapi import render
from costwarden.warden import Warden
from server.conftest import Running, running

DOCS = Path(__file__).parents[2] / "docs" / "openapi.json"
REGENERATE = "python -m costwarden.server.openapi > docs/openapi.json"


def test_the_checked_in_schema_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), f"docs/openapi.json is stale; run: {REGENERATE}"


def test_the_served_schema_is_the_checked_in_one(served: Running) -> None:
    served_schema = served.client().get("/openapi.json").json()
    assert served_schema == json.loads(DOCS.read_text(encoding="utf-8"))
    paths = set(served_schema["paths"])
    for seed_path in (
        "/api/v1/usage",
        "/api/v1/usage/summary",
        "/api/v1/usage/by-agent",
        "/api/v1/usage/by-project",
        "/api/v1/usage/daily",
        "/api/v1/limits",
        "/api/v1/limits/status",
        "/api/v1/alerts",
    ):
        assert seed_path in paths


@pytest.fixture
def fuzzed(sqlite_url: str) -> Iterator[Running]:
    with Warden(Settings(database=sqlite_url)) as warden, running(warden) as served:
        served.client().post(
            "/api/v1/events",
            json={
                "provider": "openai",
                "model": "gpt-4o",
                "input_tokens": 10,
                "project": "web",
                "session": "s1",
            },
        )
        yield served


def test_fuzzed_requests_never_fail_the_server_and_answer_as_documented(fuzzed: Running) -> None:
    """Every operation of the schema, with generated parameters and bodies, called with an admin key and
    without one: no 5xx, every status, content type and body as the schema documents them."""
    admin = fuzzed.key("admin")
    schema = schemathesis.openapi.from_dict(json.loads(DOCS.read_text(encoding="utf-8")))
    schema.config.base_url = fuzzed.url
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    session = requests.Session()  # closed at the end: no connection is left for the GC to find
    try:
        _fuzz(operations, session, admin)
    finally:
        session.close()


def _fuzz(operations: list[Any], session: requests.Session, admin: str) -> None:
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                session=session,
                headers={"Authorization": f"Bearer {admin}"},
                excluded_checks=[positive_data_acceptance],  # a valid-looking "2026-13-45" is still a 400
            )

        call()
