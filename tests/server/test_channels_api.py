"""Alert channels and deliveries over the API: a webhook channel created here gets a signing secret shown
once, carries the next alert to a real receiver, and the outbox shows the delivery; bad definitions are 400
naming the key; removing marks what was left failed; admins of every project only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from costwarden.config import Settings
from costwarden.testing.webhooks import WebhookReceiver
from costwarden.warden import Warden
from server.conftest import Running, running

BUDGET = {"id": "tiny", "period": "month", "cost_usd": "0.01", "thresholds": ["50"]}


def _names(listed: dict[str, Any]) -> list[str]:
    return [c["name"] for c in listed["channels"]]


@pytest.fixture
def served(database: str) -> Iterator[Running]:
    warden = Warden(Settings(database=database, budgets=[BUDGET]))
    try:
        with running(warden) as server:
            yield server
    finally:
        warden.close()


def test_a_channel_made_here_delivers_and_the_outbox_shows_it(served: Running) -> None:
    client = served.client()
    with WebhookReceiver() as hook:
        made = client.post(
            "/api/v1/channels", json={"name": "ops", "type": "webhook", "url": hook.url, "level": "info"}
        )
        assert made.status_code == 201, made.text
        channel = made.json()
        assert channel["secret"].startswith("whsec_")
        assert (channel["name"], channel["type"], channel["origin"], channel["config_wins"]) == (
            "ops",
            "webhook",
            "cli",
            False,
        )
        listed = client.get("/api/v1/channels").json()
        assert listed["schema"] == "costwarden.channels/1"
        assert [c["name"] for c in listed["channels"]] == ["log", "ops"]  # the log channel is always there
        assert channel["secret"] not in str(listed)  # shown once, never listed

        served.warden.record(provider="openai", model="gpt-4o", input_tokens=4000)  # $0.01: 50 % and over
        hook.wait_for(1)
        deadline = time.monotonic() + 20
        while True:  # the sender records the answer just after the receiver got it
            params = {"channel": "ops", "attempts": "true"}
            deliveries = client.get("/api/v1/deliveries", params=params).json()
            done = [d for d in deliveries["deliveries"] if d["status"] == "delivered"]
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert done, deliveries
        assert {d["channel"] for d in deliveries["deliveries"]} == {"ops"}
        assert done[0]["attempt_log"][-1]["ok"] is True

    removed = client.delete("/api/v1/channels/ops")
    assert removed.status_code == 200 and removed.json()["removed"] == "ops"
    assert _names(client.get("/api/v1/channels").json()) == ["log"]
    assert client.delete("/api/v1/channels/ops").status_code == 404


@pytest.mark.parametrize(
    ("definition", "parameter"),
    [
        ({"type": "pager", "url": "https://example.com"}, "type"),
        ({"type": "webhook"}, "url"),
        ({"type": "webhook", "url": "https://example.com", "level": "loud"}, "level"),
        ({"type": "email", "to": ["ops@example.com"]}, "smtp"),  # no SMTP server anywhere
        ({"type": "webhook", "url": "https://example.com", "rate_limit": "lots"}, "rate_limit"),
    ],
)
def test_bad_channels_are_refused_naming_the_key(
    served: Running, definition: dict[str, object], parameter: str | None
) -> None:
    client = served.client()
    response = client.post("/api/v1/channels", json=definition)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["parameter"] == parameter
    assert _names(client.get("/api/v1/channels").json()) == ["log"]
    bad = client.get("/api/v1/deliveries", params={"status": "lost"})
    assert bad.status_code == 400 and bad.json()["error"]["parameter"] == "status"


def test_admins_of_every_project_only(served: Running) -> None:
    admin = served.client(served.key("admin"))
    for secret in (served.key("reader"), served.key("writer"), served.key("admin", "web")):
        client = served.client(secret)
        assert client.get("/api/v1/channels").status_code == 403
        assert client.get("/api/v1/deliveries").status_code == 403
        made = client.post("/api/v1/channels", json={"type": "slack", "url": "https://hooks.slack.com/x"})
        assert made.status_code == 403
    assert _names(admin.get("/api/v1/channels").json()) == ["log"]
