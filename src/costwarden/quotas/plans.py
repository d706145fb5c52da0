"""Subscription plans, declared: the `subscriptions:` config section.

    subscriptions:
      - provider: anthropic        # the provider the plan belongs to
        account: work              # several accounts per provider (default: default)
        plan: claude-max-5x        # a preset (costwarden.quotas.presets) or any name of your own
        price_usd: 100             # flat cost per billing period (shown apart from metered cost)
        billing: monthly 3         # the billing period's reset rule (default: monthly 1)
        timezone: Europe/Berlin    # for fixed resets (default: the config's timezone)
        where: {agent: [claude-code]}   # which ledger events use the plan (default: its provider)
        windows:
          - name: messages-day
            unit: messages         # requests | messages | tokens | usd | percent
            limit: 300             # not for percent: then only the provider knows the cap
            reset: daily 00:00     # rolling 5h | daily HH:MM | weekly DAY HH:MM | monthly D HH:MM | never
            reading: unified-5h    # a window the provider reports (headers, Codex logs, pollers)

A window's use is read from the provider's own readings when it names a `reading` (the newest one inside
the window), else counted from the ledger: requests (`requests`, `messages`), tokens, or the cost at API
prices (`usd`) of the events the plan's `where` selects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from costwarden.core.config_fields import Money, Section, check_timezone
from costwarden.core.limits import MAX_BUDGET_COUNT
from costwarden.core.policy import SCOPE_FIELDS
from costwarden.quotas.presets import PRESETS
from costwarden.quotas.resets import ResetRule, parse_reset
from costwarden.storage.quotas import DEFAULT_ACCOUNT

__all__ = ["UNITS", "Unit", "WindowConfig", "SubscriptionConfig", "with_preset"]

UNITS = ("requests", "messages", "tokens", "usd", "percent")
Unit = Literal["requests", "messages", "tokens", "usd", "percent"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")


def _reset(value: object) -> ResetRule:
    return parse_reset(value)


ResetField = Annotated[
    ResetRule, BeforeValidator(_reset), PlainSerializer(lambda r: r.spelled, return_type=str)
]


def _string_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class WindowConfig(Section):
    """One quota window of a plan."""

    name: str
    unit: Unit
    limit: Decimal | None = Field(default=None, ge=0, le=MAX_BUDGET_COUNT)
    """requests / messages / tokens: a count; usd: dollars; percent: none (the provider's readings)."""
    reset: ResetField
    timezone: str | None = None
    reading: str | None = None
    """The window name the provider's readings use (`unified-5h`, `primary-300m`, `requests`, ...)."""

    _tz = field_validator("timezone")(check_timezone)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"expected a name of letters, digits and _ . : @ / - (max 128), got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WindowConfig:
        if self.unit == "percent" and self.limit is not None:
            raise ValueError(f"window {self.name!r}: a percent window has no limit (the provider knows it)")
        if self.unit == "percent" and self.reading is None:
            raise ValueError(
                f"window {self.name!r}: a percent window needs `reading` (the provider's window)"
            )
        if (
            self.unit in ("requests", "messages", "tokens")
            and self.limit is not None
            and self.limit != int(self.limit)
        ):
            raise ValueError(f"window {self.name!r}: a {self.unit} limit is a whole number")
        if self.limit is None and self.reading is None:
            raise ValueError(f"window {self.name!r}: give a `limit`, or a `reading` the provider reports")
        return self


def with_preset(data: Mapping[str, Any]) -> dict[str, Any]:
    """A plan's fields with its preset's filled in under them (windows merged by name)."""
    name = data.get("plan")
    base = PRESETS.get(name) if isinstance(name, str) else None
    if base is None:
        return dict(data)
    merged: dict[str, Any] = {**base, **data}
    own = data.get("windows")
    if isinstance(own, list) and all(isinstance(w, Mapping) for w in own):
        windows = {w["name"]: dict(w) for w in base.get("windows", [])}
        for window in own:
            key = window.get("name")
            windows[key] = {**windows.get(key, {}), **window} if key in windows else dict(window)
        merged["windows"] = list(windows.values())
    elif own is None:
        merged["windows"] = [dict(w) for w in base.get("windows", [])]
    return merged


class SubscriptionConfig(Section):
    """One subscription plan of one provider account (an item of `subscriptions:`)."""

    provider: str = Field(min_length=1, max_length=255)
    account: str = Field(default=DEFAULT_ACCOUNT, min_length=1, max_length=255)
    plan: str | None = None
    name: str | None = None
    price_usd: Money | None = None
    billing: ResetField = Field(default_factory=lambda: parse_reset("monthly 1"))
    timezone: str | None = None
    where: dict[str, Annotated[list[str], BeforeValidator(_string_list)]] = Field(default_factory=dict)
    windows: list[WindowConfig] = Field(default_factory=list)
    on_exhausted: Literal["fallback", "wait", "refuse"] = "fallback"
    """What admission does with a call to this account while a window is exhausted (see docs/quotas.md)."""
    max_wait: float = Field(default=60.0, gt=0, le=86400)
    """`wait`: the longest a call waits for the reset before it is refused."""

    _tz = field_validator("timezone")(check_timezone)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: object) -> object:
        if isinstance(data, Mapping):
            return with_preset(data)
        return data

    @field_validator("where")
    @classmethod
    def _where(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, values in value.items():
            if key not in SCOPE_FIELDS and not (key.startswith("tag:") and len(key) > 4):
                raise ValueError(f"unknown field {key!r}; choose {', '.join(SCOPE_FIELDS)} or tag:NAME")
            if not values:
                raise ValueError(f"where.{key}: expected at least one value")
        return value

    @model_validator(mode="after")
    def _unique_windows(self) -> SubscriptionConfig:
        names = [w.name for w in self.windows]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"window {name!r} is listed twice")
        return self

    @property
    def label(self) -> str:
        """`Claude Max 5x (anthropic/work)`."""
        who = self.provider if self.account == DEFAULT_ACCOUNT else f"{self.provider}/{self.account}"
        return f"{self.name or self.plan or self.provider} ({who})"

    @property
    def key(self) -> str:
        """`provider/account`: unique among the plans."""
        return f"{self.provider}/{self.account}"

    def match(self) -> dict[str, tuple[str, ...]]:
        """The ledger filter of the plan's events: its `where`, else its provider (and, for an account
        other than default, the events tagged `account=<account>`)."""
        if self.where:
            return {key: tuple(values) for key, values in sorted(self.where.items())}
        out: dict[str, tuple[str, ...]] = {"provider": (self.provider,)}
        if self.account != DEFAULT_ACCOUNT:
            out["tag:account"] = (self.account,)
        return out

    def tz(self, default: ZoneInfo) -> ZoneInfo:
        return ZoneInfo(self.timezone) if self.timezone else default
