"""The alert channels and how each is doing: where it sends (secrets masked), which alerts it takes, its
outbox backlog and health. `channels_view(warden)` answers `costwarden alert channels`; the backlog counts
are what a metrics endpoint exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from costwarden.core.channels import LogChannelConfig
from costwarden.notify.channels import ChannelBook
from costwarden.reports.periods import utc_iso
from costwarden.storage.outbox import DELIVERY_STATES, ChannelHealth

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["CHANNELS_SCHEMA", "ChannelRow", "ChannelsResult", "channels_view"]

CHANNELS_SCHEMA = "costwarden.channels/1"


@dataclass(frozen=True, slots=True)
class ChannelRow:
    name: str
    type: str
    origin: str
    """`config` (the config file) or `cli` (saved with `costwarden alert set`)."""
    target: str
    level: str
    filters: dict[str, list[str]]
    rate_limit: str | None
    backlog: dict[str, int]
    health: ChannelHealth | None = None
    problem: str | None = None
    """Why this process cannot use the channel (then nothing is sent over it from here)."""

    @property
    def state(self) -> str:
        if self.problem is not None:
            return "unusable"
        if self.health is not None and self.health.failures:
            return "failing" if self.health.reported else "retrying"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        health = self.health
        return {
            "name": self.name,
            "type": self.type,
            "origin": self.origin,
            "target": self.target,
            "level": self.level,
            "filters": self.filters,
            "rate_limit": self.rate_limit,
            "state": self.state,
            "problem": self.problem,
            "failures": health.failures if health is not None else 0,
            "failing_since": utc_iso(health.failing_since) if health and health.failing_since else None,
            "backlog": {state: self.backlog.get(state, 0) for state in DELIVERY_STATES},
        }


@dataclass(frozen=True, slots=True)
class ChannelsResult:
    SCHEMA: ClassVar[str] = CHANNELS_SCHEMA

    channels: list[ChannelRow] = field(default_factory=list)
    orphans: dict[str, dict[str, int]] = field(default_factory=dict)
    """Backlog of channel names no longer configured here (kept in the outbox)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": CHANNELS_SCHEMA,
            "channels": [c.to_json() for c in self.channels],
            "other_backlog": {
                name: {state: counts.get(state, 0) for state in DELIVERY_STATES}
                for name, counts in sorted(self.orphans.items())
            },
        }


def book_of(warden: Warden) -> ChannelBook:
    """The channels of `warden` (its postbox's when the budget engine has one)."""
    hub = getattr(warden.budgets, "hub", None)
    book = getattr(getattr(hub, "outgoing", None), "book", None)
    if isinstance(book, ChannelBook):
        return book
    return ChannelBook(warden.settings.alerts, warden.backend.outbox)


def channels_view(warden: Warden) -> ChannelsResult:
    """Every channel: the log channels and outbox channels of the config file, then those set from the
    CLI; with backlog and health from the database (none without one)."""
    book = book_of(warden)
    outbox = warden.backend.outbox
    channels = book.channels(fresh=True)
    problems = book.problems()
    backlog = outbox.backlog() if outbox is not None else {}
    health = outbox.health() if outbox is not None else {}
    rows: list[ChannelRow] = []
    for config in warden.settings.alerts.channels:
        if isinstance(config, LogChannelConfig):
            name = config.name or config.type
            rows.append(
                ChannelRow(name, "log", "config", "costwarden.alerts logger", config.level, {}, None, {})
            )
    saved = {c.name: c for c in outbox.saved_channels()} if outbox is not None else {}
    for name, channel in channels.items():
        cfg = channel.config
        filters = {
            k: list(v) for k, v in (("budgets", cfg.budgets), ("plans", cfg.plans), ("kinds", cfg.kinds)) if v
        }
        rows.append(
            ChannelRow(
                name=name,
                type=channel.type,
                origin=channel.origin,
                target=channel.target(),
                level=cfg.level,
                filters=filters,
                rate_limit=cfg.rate_limit.spelled if cfg.rate_limit is not None else None,
                backlog=backlog.get(name, {}),
                health=health.get(name),
            )
        )
    for name, problem in sorted(problems.items()):
        kind = str(saved[name].definition.get("type", "?")) if name in saved else "?"
        origin = "cli" if name in saved else "config"
        rows.append(ChannelRow(name, kind, origin, "", "", {}, None, backlog.get(name, {}), None, problem))
    known = {row.name for row in rows}
    orphans = {name: counts for name, counts in backlog.items() if name not in known}
    return ChannelsResult(rows, orphans)
