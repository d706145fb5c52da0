"""The channels of one process: those of the config file (`alerts.channels`) and those set from the CLI
(`costwarden alert set --webhook ...`, kept in the database), a config channel winning over a saved one of
the same name. `route(alert)` says which channels an alert goes to (level, budgets, plans, kinds) and gives
each delivery its message id."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from costwarden.core.channels import (
    ChannelConfig,
    LogChannelConfig,
    NetworkChannelConfig,
    SlackChannelConfig,
    WebhookChannelConfig,
)
from costwarden.core.policy import AlertsConfig
from costwarden.notify.email import EmailSender
from costwarden.notify.message import CHANNEL_KINDS
from costwarden.notify.sender import Sender
from costwarden.notify.slack import SlackSender
from costwarden.notify.webhook import WebhookSender
from costwarden.storage.budgets import AlertRecord
from costwarden.storage.outbox import NewDelivery, Outbox

__all__ = ["Channel", "ChannelBook", "new_message_id", "parse_channel", "plan_of"]

_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ChannelConfig)


def new_message_id() -> str:
    """A delivery's idempotency key (`webhook-id`): `msg_` + 24 random URL-safe characters."""
    return "msg_" + secrets.token_urlsafe(18)


def plan_of(alert: AlertRecord) -> str | None:
    """The subscription plan an alert is about (its `plan` detail, or a `plan=...` scope)."""
    plan = alert.details.get("plan")
    if isinstance(plan, str):
        return plan
    if alert.scope.startswith("plan="):
        return alert.scope.removeprefix("plan=")
    return None


def parse_channel(definition: Mapping[str, Any]) -> NetworkChannelConfig | LogChannelConfig:
    """A channel mapping (as saved from the CLI) validated; raises `pydantic.ValidationError`."""
    parsed: NetworkChannelConfig | LogChannelConfig = _ADAPTER.validate_python(dict(definition))
    return parsed


@dataclass(frozen=True, slots=True)
class Channel:
    """One outbox channel: its config, where it came from (`config` or `cli`) and its sender."""

    name: str
    config: NetworkChannelConfig
    origin: str
    sender: Sender

    @property
    def type(self) -> str:
        return self.config.type

    def target(self) -> str:
        """Where it sends, safe to print (no secret)."""
        target = getattr(self.sender, "target", None)
        return str(target()) if callable(target) else self.config.type

    def takes(self, alert: AlertRecord) -> bool:
        if alert.kind in CHANNEL_KINDS and alert.details.get("channel") == self.name:
            return False  # a channel's trouble is told by the other channels
        return self.config.matches(
            level=alert.level, budget_id=alert.budget_id, kind=alert.kind, plan=plan_of(alert)
        )


def _sender(config: NetworkChannelConfig, alerts: AlertsConfig) -> Sender:
    if isinstance(config, WebhookChannelConfig):
        return WebhookSender(config)
    if isinstance(config, SlackChannelConfig):
        return SlackSender(config)
    smtp = config.smtp or alerts.smtp
    if smtp is None:
        raise ValueError("an email channel needs an SMTP server (`alerts.smtp:` in the config file)")
    return EmailSender(config, smtp)


class ChannelBook:
    """The outbox channels of this process, re-reading those saved from the CLI every `refresh` seconds."""

    def __init__(self, alerts: AlertsConfig, outbox: Outbox | None, *, refresh: float = 2.0) -> None:
        self.alerts = alerts
        self.outbox = outbox
        self.refresh = refresh
        self._lock = threading.Lock()
        self._channels: dict[str, Channel] | None = None
        self._problems: dict[str, str] = {}
        self._checked = 0.0
        self._configured = {
            (c.name or c.type): c for c in alerts.channels if not isinstance(c, LogChannelConfig)
        }

    @property
    def configured(self) -> bool:
        """Whether any outbox channel may exist (in the config file, or possibly saved from the CLI)."""
        return bool(self._configured) or self.outbox is not None

    def channels(self, *, fresh: bool = False) -> dict[str, Channel]:
        """Name -> channel: the config file's, then those saved from the CLI under other names."""
        now = time.monotonic()
        with self._lock:
            if self._channels is not None and not fresh and now < self._checked:
                return self._channels
            self._checked = now + self.refresh
            self._channels, self._problems = self._build()
            return self._channels

    def problems(self) -> dict[str, str]:
        """Channels saved from the CLI that cannot be used here, and why (e.g. email without SMTP)."""
        self.channels(fresh=True)
        return dict(self._problems)

    def _build(self) -> tuple[dict[str, Channel], dict[str, str]]:
        out: dict[str, Channel] = {}
        problems: dict[str, str] = {}
        for name, config in self._configured.items():
            try:
                out[name] = Channel(name, config, "config", _sender(config, self.alerts))
            except ValueError as exc:
                problems[name] = str(exc)
        if self.outbox is None:
            return out, problems
        for saved in self.outbox.saved_channels():
            if saved.name in out or saved.name in problems:
                continue
            try:
                parsed = parse_channel({**saved.definition, "name": saved.name})
                if isinstance(parsed, LogChannelConfig):
                    raise ValueError("a log channel is set in the config file, not saved")
                out[saved.name] = Channel(saved.name, parsed, "cli", _sender(parsed, self.alerts))
            except (pydantic.ValidationError, ValueError) as exc:
                problems[saved.name] = _short(exc)
        return out, problems

    def route(self, alert: AlertRecord) -> list[NewDelivery]:
        """The deliveries of a new alert: one per channel that takes it."""
        if not self.configured:
            return []
        return [
            NewDelivery(name, new_message_id())
            for name, channel in self.channels().items()
            if channel.takes(alert)
        ]


def _short(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)
