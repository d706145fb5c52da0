"""Alert channels, declared: the items of `alerts.channels`, and the `alerts.delivery` and `alerts.smtp`
sections.

    alerts:
      channels:
        - type: log                          # the costwarden.alerts logger (in-process, immediate)
        - type: webhook                      # signed per Standard Webhooks
          name: ops                          # default: the type; names are unique
          url: https://ops.example.com/hooks/costwarden
          secret_env: OPS_WEBHOOK_SECRET     # or secret: whsec_...
          level: warning                     # the lowest alert level sent: info | warning | critical
          budgets: [monthly]                 # only these budgets (default: all)
          kinds: [threshold, block]          # only these kinds (default: all)
          rate_limit: 10/1h                  # at most 10 sent per hour; the rest are held back
        - type: slack
          url_env: SLACK_WEBHOOK_URL         # a Slack-compatible incoming webhook
        - type: email
          to: [oncall@example.com]           # sent over `alerts.smtp` (or a `smtp:` of its own)

Secrets (`secret`, `password`, a Slack URL) are kept in `SecretStr`s: never printed by `repr`, a log or an
error. Each may instead name an environment variable (`secret_env`, `password_env`, `url_env`) read by the
process that delivers.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)

from costwarden.core.config_fields import Section
from costwarden.core.periods import parse_duration

__all__ = [
    "ALERT_LEVELS",
    "NETWORK_TYPES",
    "RateLimit",
    "SmtpConfig",
    "DeliveryConfig",
    "LogChannelConfig",
    "WebhookChannelConfig",
    "SlackChannelConfig",
    "EmailChannelConfig",
    "ChannelConfig",
    "NetworkChannelConfig",
    "level_rank",
    "check_channel_names",
    "resolve_secret",
    "decode_webhook_secret",
]

ALERT_LEVELS: tuple[str, ...] = ("info", "warning", "critical")
NETWORK_TYPES: tuple[str, ...] = ("webhook", "slack", "email")
"""Channel types delivered through the outbox (`log` is written in-process, at once)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_SECRET_PREFIX = "whsec_"


def level_rank(level: str) -> int:
    """`info` < `warning` < `critical` (an unknown level ranks as `warning`)."""
    return ALERT_LEVELS.index(level) if level in ALERT_LEVELS else 1


def _seconds(value: object) -> float:
    return parse_duration(value, "duration")


Seconds = Annotated[float, BeforeValidator(_seconds)]


def decode_webhook_secret(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (`whsec_` + base64 of 24 to 64 bytes). Raises ValueError
    without repeating the secret."""
    if not secret.startswith(_SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_ (see `costwarden alert set --webhook`)")
    try:
        key = base64.b64decode(secret[len(_SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"a webhook secret holds 24 to 64 bytes after whsec_, this one {len(key)}")
    return key


def resolve_secret(value: SecretStr | None, env: str | None, what: str) -> str:
    """The secret given inline, else the one in the environment variable named by `env`. Raises ValueError
    (naming the variable, never the value) when neither is there."""
    if value is not None:
        return value.get_secret_value()
    if env is not None:
        found = os.environ.get(env)
        if found:
            return found
        raise ValueError(f"environment variable {env} (the {what}) is not set in this process")
    raise ValueError(f"no {what} given")


class RateLimit(Section):
    """At most `count` alerts sent per `per` seconds on one channel; alerts past it are held back (kept in
    the outbox as `suppressed`, counted in the next message sent)."""

    count: int = Field(ge=1, le=1_000_000)
    per: Seconds

    @model_validator(mode="before")
    @classmethod
    def _spelled(cls, value: object) -> object:
        if isinstance(value, str):
            count, slash, per = value.partition("/")
            if not slash or not count.strip().isdigit():
                raise ValueError(f"expected a rate such as 10/1h (count/duration), got {value!r}")
            return {"count": int(count), "per": per.strip()}
        return value

    @property
    def spelled(self) -> str:
        from costwarden.core.periods import format_duration

        return f"{self.count}/{format_duration(self.per)}"


class SmtpConfig(Section):
    """An SMTP server (`alerts.smtp`, or an email channel's own `smtp:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Default: 587 with STARTTLS, 465 with TLS, 25 without."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    sender: str = Field(alias="from")
    ca_file: str | None = None
    """A PEM file of certificate authorities to trust for this server (default: the system's)."""
    timeout: Seconds = 10.0

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _EMAIL.match(value.rsplit("<", 1)[-1].rstrip(">").strip()):
            raise ValueError(f"expected an email address, got {value!r}")
        return value

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.match(value):
            raise ValueError(f"expected an environment variable name, got {value!r}")
        return value

    @model_validator(mode="after")
    def _auth(self) -> SmtpConfig:
        if (self.password is not None or self.password_env is not None) and self.username is None:
            raise ValueError("a password needs a username")
        if self.password is not None and self.password_env is not None:
            raise ValueError("give password or password_env, not both")
        return self

    @property
    def resolved_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


class DeliveryConfig(Section):
    """`alerts.delivery`: how the outbox retries, and when a channel counts as failing."""

    initial_backoff: Seconds = 5.0
    """The wait before the first retry; each later retry waits twice as long as the one before."""
    max_backoff: Seconds = 3600.0
    """The longest wait between two attempts."""
    give_up_after: Seconds = 86400.0
    """An alert not delivered this long after it was raised is marked `failed` (kept, never retried)."""
    failing_after: int = Field(default=3, ge=1, le=1000)
    """Consecutive failed attempts after which a channel raises its own `channel_failing` alert."""
    inline: bool = True
    """A process that raises an alert sends it at once from a background thread (and waits for it at exit,
    at most `inline_wait`), unless a delivery worker (`costwarden serve`) runs in that process."""
    inline_wait: Seconds = 10.0


class _Filtered(Section):
    """What every outbox channel has: a name and which alerts it takes."""

    name: str | None = None
    level: Literal["info", "warning", "critical"] = "warning"
    budgets: list[str] = Field(default_factory=list)
    plans: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    rate_limit: RateLimit | None = None
    timeout: Seconds = 10.0

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(f"expected a name of letters, digits and _ . - (max 64), got {value!r}")
        return value

    @field_validator("budgets", "plans", "kinds", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    def matches(self, *, level: str, budget_id: str, kind: str, plan: str | None) -> bool:
        """Whether an alert of this level, budget, kind and plan goes to the channel."""
        if level_rank(level) < level_rank(self.level):
            return False
        if self.kinds and kind not in self.kinds:
            return False
        if self.budgets and budget_id not in self.budgets:
            return False
        return not self.plans or plan in self.plans


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV.match(value):
        raise ValueError(f"expected an environment variable name, got {value!r}")
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("expected an http:// or https:// URL")
    return value


class WebhookChannelConfig(_Filtered):
    """POSTs each alert as JSON, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`)."""

    type: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    secret_env: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_webhook_secret(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookChannelConfig:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError(
                "a webhook needs its signing secret: secret (whsec_...) or secret_env (a variable "
                "holding it), one of the two"
            )
        return self


class SlackChannelConfig(_Filtered):
    """POSTs each alert as `{"text": ...}` to a Slack-compatible incoming webhook (Slack, Mattermost,
    Rocket.Chat, ...). The URL is the secret: give it as `url` or name a variable holding it (`url_env`)."""

    type: Literal["slack"]
    url: SecretStr | None = None
    url_env: str | None = None

    @field_validator("url_env")
    @classmethod
    def _url_env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _http_url(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_url(self) -> SlackChannelConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a slack channel needs url or url_env, one of the two")
        return self


class EmailChannelConfig(_Filtered):
    """Sends each alert as a plain-text email over SMTP (`smtp:` here, else `alerts.smtp`)."""

    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    smtp: SmtpConfig | None = None

    @field_validator("to", mode="before")
    @classmethod
    def _one(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL.match(address):
                raise ValueError(f"expected an email address, got {address!r}")
        return value


class LogChannelConfig(Section):
    """Writes alerts to the `costwarden.alerts` logger, in the process that raised them (`level` is a
    logging level here: debug, info, warning, error)."""

    type: Literal["log"] = "log"
    name: str | None = None
    level: Literal["debug", "info", "warning", "error"] = "warning"


NetworkChannelConfig = WebhookChannelConfig | SlackChannelConfig | EmailChannelConfig


def _channel_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "log"))
    return str(getattr(value, "type", "log"))


ChannelConfig = Annotated[
    Annotated[LogChannelConfig, Tag("log")]
    | Annotated[WebhookChannelConfig, Tag("webhook")]
    | Annotated[SlackChannelConfig, Tag("slack")]
    | Annotated[EmailChannelConfig, Tag("email")],
    Discriminator(
        _channel_type,
        custom_error_type="channel_type",
        custom_error_message="unknown channel type; use log, webhook, slack or email",
    ),
]
"""One item of `alerts.channels` (`type` defaults to `log`)."""


def check_channel_names(channels: list[Any]) -> None:
    """Channel names (default: the type) are unique. Raises ValueError naming the second one."""
    seen: set[str] = set()
    for index, channel in enumerate(channels):
        name = channel.name or channel.type
        if name in seen:
            raise ValueError(
                f"channels[{index}]: the name {name!r} is used twice; give each channel its own `name:`"
            )
        seen.add(name)
