"""Fixtures of the notification tests: a database per backend, a signing secret, a webhook receiver that
checks signatures, and a Warden whose alerts go to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from notify_helpers import WardenFactory

from costwarden import Warden
from costwarden.config import settings_from_mapping
from costwarden.notify import new_secret
from costwarden.testing.webhooks import WebhookReceiver


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def hook(secret: str) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=secret) as receiver:
        yield receiver


@pytest.fixture
def make_warden(db_url: str) -> Iterator[WardenFactory]:
    """`make_warden(channels=[...], budgets=[...], delivery={...})`: a Warden on the test database; every
    Warden made is closed after the test."""
    made: list[Warden] = []

    def make(
        *,
        channels: list[dict[str, Any]],
        budgets: list[dict[str, Any]] | None = None,
        delivery: dict[str, Any] | None = None,
        **alerts: Any,
    ) -> Warden:
        settings = settings_from_mapping(
            {
                "database": db_url,
                "budgets": budgets
                if budgets is not None
                else [{"id": "monthly", "period": "month", "cost_usd": 1}],
                "alerts": {"channels": channels, "delivery": {"inline": False, **(delivery or {})}, **alerts},
            }
        )
        warden = Warden(settings)
        made.append(warden)
        return warden

    yield make
    for warden in made:
        warden.close()
