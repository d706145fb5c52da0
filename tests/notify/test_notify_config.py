"""Channel configuration: every mistake names the file and key, secrets never appear in an error or a
repr, and outbox channels on a ledger kept in memory are refused at start-up."""

from __future__ import annotations

from typing import Any

import pytest

from costwarden import Warden
from costwarden.config import settings_from_mapping
from costwarden.errors import ConfigError
from costwarden.notify import new_secret

SECRET = new_secret()


def config_error(channels: list[dict[str, Any]], **alerts: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"alerts": {"channels": channels, **alerts}}, "costwarden.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ([{"type": "pager"}], "alerts.channels[0]: unknown channel type; use log, webhook, slack or email"),
        (
            [{"type": "webhook", "url": "https://x"}],
            "alerts.channels[0].webhook: a webhook needs its signing",
        ),
        (
            [{"type": "webhook", "url": "x", "secret": SECRET}],
            "webhook.url: expected an http:// or https:// URL",
        ),
        ([{"type": "slack"}], "alerts.channels[0].slack: a slack channel needs url or url_env"),
        (
            [{"type": "email", "to": "ops@example.com"}],
            "alerts.channels[0]: an email channel needs an SMTP server",
        ),
        (
            [{"type": "webhook", "url": "https://x", "secret_env": "A", "rate_limit": "often"}],
            "expected a rate such as 10/1h",
        ),
        (
            [{"type": "webhook", "url": "https://x", "secret_env": "A", "level": "loud"}],
            "webhook.level",
        ),
        ([{"type": "log"}, {"type": "log", "level": "info"}], "the name 'log' is used twice"),
        (
            [{"type": "webhook", "url": "https://x", "secret_env": "lower case"}],
            "expected an environment variable name",
        ),
    ],
)
def test_mistakes_name_the_key(channels: list[dict[str, Any]], expected: str) -> None:
    text = config_error(channels)
    assert text.startswith("costwarden.yaml: ") and expected in text, text


def test_secrets_stay_out_of_errors_and_reprs() -> None:
    text = config_error([{"type": "webhook", "url": "https://x", "secret": SECRET, "secret_env": "X"}])
    assert "one of the two" in text and SECRET not in text
    smtp = {"host": "h", "from": "a@b.co", "username": "u", "password": "pw-very-secret"}
    settings = settings_from_mapping(
        {
            "alerts": {
                "channels": [
                    {"type": "webhook", "url": "https://x", "secret": SECRET},
                    {"type": "slack", "url": "https://hooks.slack.com/services/T/B/slack-secret"},
                    {"type": "email", "to": "ops@example.com", "smtp": smtp},
                ]
            }
        }
    )
    shown = repr(settings) + str(settings)
    for secret in (SECRET, "slack-secret", "pw-very-secret"):
        assert secret not in shown


def test_outbox_channels_need_a_database() -> None:
    settings = settings_from_mapping(
        {
            "database": "memory://",
            "budgets": [{"id": "monthly", "period": "month", "cost_usd": 1}],
            "alerts": {"channels": [{"type": "webhook", "url": "https://x", "secret": SECRET}]},
        }
    )
    with Warden(settings) as warden, pytest.raises(ConfigError, match="needs a database ledger"):
        warden.record(provider="openai", model="gpt-4o", input_tokens=10)
