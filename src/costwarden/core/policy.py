"""Budgets, declared: the `budgets:` and `alerts:` config sections and their compiled, matchable form.

    budgets:
      - id: project-daily          # unique; names the counters, alerts and refusals
        scope: project             # global | project | agent | session | run | task | task_type | plan
                                   # | user | provider | model | tag:NAME
        period: day                # run | hour | day | week | month | total | "rolling: 5h"
        cost_usd: 20               # limits: cost_usd, tokens, requests (any combination)
        overrides: {my-arpg: {cost_usd: 30}}   # per-value limits (scope without `value`)
        action: block              # block | warn | terminate_run | queue | fallback

A scope without `value` gives every value its own counters (each project its own $20/day); with `value`
the budget covers that one value. `where` narrows any budget further (`where: {provider: [claude, gpt]}`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from costwarden.core.channels import (
    ChannelConfig,
    DeliveryConfig,
    EmailChannelConfig,
    LogChannelConfig,
    SmtpConfig,
    check_channel_names,
)
from costwarden.core.config_fields import Money, Section
from costwarden.core.limits import MAX_BUDGET_COUNT
from costwarden.core.money import to_units
from costwarden.core.periods import Period, PeriodKind, parse_duration
from costwarden.core.provider_names import normalize_provider
from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution

__all__ = [
    "SCOPE_FIELDS",
    "NOTICE_FIELDS",
    "check_notice_template",
    "DEFAULT_THRESHOLDS",
    "Action",
    "LimitFields",
    "ThresholdConfig",
    "BudgetConfig",
    "AlertChannelConfig",
    "AlertsConfig",
    "AdmissionConfig",
    "Limits",
    "Threshold",
    "Policy",
    "Applied",
    "Names",
    "PolicySet",
    "compile_policy",
    "ExtraThreshold",
    "with_extra_thresholds",
    "compile_policies",
]

SCOPE_FIELDS: tuple[str, ...] = (*ATTRIBUTION_FIELDS, "provider", "model")
"""Fields a budget can be scoped or filtered by (plus `tag:NAME`)."""
DEFAULT_THRESHOLDS: tuple[int, ...] = (50, 80, 95)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")


NOTICE_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "scope",
    "period",
    "limit",
    "spent",
    "reserved",
    "remaining",
    "requested",
    "resets_at",
    "provider",
    "model",
    "to",
    "run",
)
"""The fields a budget's `notice` template may use, as `{name}`."""


def check_notice_template(template: str) -> str:
    """Raise ValueError unless `template` formats with the notice fields (named, no attribute or index
    access, string format specs only): a bad template is refused when read, not when a call is refused."""
    formatter = string.Formatter()
    try:
        parts = list(formatter.parse(template))
    except ValueError as exc:
        raise ValueError(f"invalid notice template: {exc} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in NOTICE_FIELDS:
            raise ValueError(
                f"notice template field {{{name}}} is unknown; use {{{'}, {'.join(NOTICE_FIELDS)}}}"
            )
        if conversion not in (None, "s", "r", "a") or (spec and "{" in spec):
            raise ValueError(f"notice template field {{{name}}} has an unsupported conversion or format")
        try:
            format("sample", spec or "")
        except ValueError:
            raise ValueError(f"notice template field {{{name}}}: invalid format {spec!r} for text") from None
    return template


class Action(StrEnum):
    """What happens when a call does not fit a budget."""

    BLOCK = "block"
    WARN = "warn"
    TERMINATE_RUN = "terminate_run"
    QUEUE = "queue"
    FALLBACK = "fallback"


def _check_field(name: str) -> str:
    if name in SCOPE_FIELDS or (name.startswith("tag:") and len(name) > 4):
        return name
    raise ValueError(f"unknown scope {name!r}; choose global, {', '.join(SCOPE_FIELDS)} or tag:NAME")


def _seconds(value: object) -> float:
    return parse_duration(value, "timeout")


def _period(value: object) -> Period:
    return Period.parse(value)


def _threshold(value: object) -> object:
    if isinstance(value, int | float | Decimal | str) and not isinstance(value, bool):
        return {"percent": value}
    return value


def _string_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Seconds = Annotated[float, BeforeValidator(_seconds)]
PeriodField = Annotated[
    Period, BeforeValidator(_period), PlainSerializer(lambda p: p.spelled, return_type=str)
]


class LimitFields(Section):
    """Limits of one budget (or of one scope value): any combination, each optional."""

    cost_usd: Money | None = None
    tokens: int | None = Field(default=None, ge=0, le=MAX_BUDGET_COUNT)
    requests: int | None = Field(default=None, ge=0, le=MAX_BUDGET_COUNT)

    def has_limits(self) -> bool:
        return self.cost_usd is not None or self.tokens is not None or self.requests is not None


class ThresholdConfig(Section):
    """An alert threshold: a percent of a limit, with a level and an optional message."""

    percent: Decimal = Field(gt=0, le=100)
    level: Literal["info", "warning", "critical"] | None = None
    message: str | None = None

    @field_validator("percent", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        """A number of percent. A bare number up to 1 is refused as ambiguous (`0.8` is 0.8 %, not 80 %);
        with a percent sign (`"0.8%"`) it is taken as written."""
        given = value
        signed = False
        if isinstance(value, str):
            text = value.strip()
            signed = text.endswith("%")
            value = text.removesuffix("%").strip()
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ValueError(f"expected a percent such as 80, got {given!r}")
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except ArithmeticError:  # decimal.InvalidOperation: "abc"
            raise ValueError(f"expected a percent such as 80, got {given!r}") from None
        if not number.is_finite():
            raise ValueError(f"expected a percent such as 80, got {given!r}")
        if 0 < number <= 1 and not signed:
            raise ValueError(
                f"thresholds are percentages: {given!r} would mean {number} %; write 80 for 80 %, "
                f"or '{number}%' if you mean {number} %"
            )
        return number


Thresholds = list[Annotated[ThresholdConfig, BeforeValidator(_threshold)]]


class BudgetConfig(LimitFields):
    """One budget (an item of `budgets:`)."""

    id: str
    name: str | None = None
    """Shown in notices: `name: Cloud` gives "Cloud budget exhausted, ...". Default: the id."""
    scope: str = "global"
    value: str | None = None
    where: dict[str, Annotated[list[str], BeforeValidator(_string_list)]] = Field(default_factory=dict)
    period: PeriodField
    overrides: dict[str, LimitFields] = Field(default_factory=dict)
    max_concurrent: int | None = Field(default=None, ge=1)
    concurrency: Literal["calls", "runs"] = "calls"
    thresholds: Thresholds | None = None
    action: Action = Action.BLOCK
    queue_timeout: Seconds = 60.0
    fallback: list[str] = Field(default_factory=list)
    fallback_order: Literal["listed", "priority", "cost"] = "listed"
    notice: str | None = None
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"expected an id of letters, digits and _ . : @ / - (max 128), got {value!r}")
        return value

    @field_validator("notice")
    @classmethod
    def _notice(cls, value: str | None) -> str | None:
        if value is not None:
            check_notice_template(value)
        return value

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return value if value == "global" else _check_field(value)

    @field_validator("where")
    @classmethod
    def _where(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, values in value.items():
            _check_field(key)
            if not values:
                raise ValueError(f"where.{key}: expected at least one value")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BudgetConfig:
        if self.value is not None and self.scope == "global":
            raise ValueError("`value` needs a scope other than global (e.g. scope: project)")
        if self.overrides and (self.scope == "global" or self.value is not None):
            raise ValueError("`overrides` need a scope without `value` (each value its own counters)")
        if not (self.has_limits() or self.overrides or self.max_concurrent is not None):
            raise ValueError(
                "a budget needs a limit: cost_usd, tokens, requests, max_concurrent or overrides"
            )
        if self.fallback and self.action is not Action.FALLBACK:
            raise ValueError("`fallback` is only used with action: fallback")
        if self.action is Action.TERMINATE_RUN and not (
            self.scope == "run" or self.period.kind is PeriodKind.RUN
        ):
            raise ValueError("action terminate_run needs a per-run budget (scope: run or period: run)")
        if self.concurrency == "runs":
            used = {self.scope, *self.where}
            if used & {"provider", "model"}:
                raise ValueError(
                    "concurrency: runs cannot be scoped by provider or model (a run has neither)"
                )
        return self


def _log_only() -> list[ChannelConfig]:
    return [LogChannelConfig()]


AlertChannelConfig = LogChannelConfig
"""The `log` channel (kept under its old name; every channel type is in `costwarden.core.channels`)."""


class AlertsConfig(Section):
    """The `alerts:` section: default thresholds, channels, the SMTP server and how the outbox delivers."""

    thresholds: Thresholds = Field(
        default_factory=lambda: [ThresholdConfig(percent=Decimal(p)) for p in DEFAULT_THRESHOLDS]
    )
    channels: list[ChannelConfig] = Field(default_factory=_log_only)
    smtp: SmtpConfig | None = None
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)

    @field_validator("channels")
    @classmethod
    def _unique_names(cls, value: list[Any]) -> list[Any]:
        check_channel_names(value)
        return value

    @model_validator(mode="after")
    def _smtp_for_email(self) -> AlertsConfig:
        for index, channel in enumerate(self.channels):
            if isinstance(channel, EmailChannelConfig) and channel.smtp is None and self.smtp is None:
                raise ValueError(
                    f"channels[{index}]: an email channel needs an SMTP server: `alerts.smtp:` (host, from, "
                    "...) or a `smtp:` of its own"
                )
        return self


class AdmissionConfig(Section):
    """The `admission:` section: reservation lifetimes and waiting."""

    reservation_ttl: Seconds = 900.0
    """A call's reservation is reclaimed this long after admission if never settled (its process died)."""
    run_ttl: Seconds = 21600.0
    """A run's concurrency slot (`concurrency: runs`) is reclaimed after this long."""
    reclaim_interval: Seconds = 10.0
    """How often a process sweeps expired reservations while admitting (also before every refusal)."""
    queue_poll: Seconds = 0.05
    """Longest pause between retries of a queued call (waits end early when this process frees room)."""
    refresh: Seconds = 2.0
    """How often budgets set from the CLI are re-read from the database."""


# -- compiled form ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits in storage units: cost in 10^-10 USD, tokens, requests, concurrent calls (None: unlimited)."""

    cost: int | None = None
    tokens: int | None = None
    requests: int | None = None
    concurrent: int | None = None

    def empty(self) -> bool:
        return self.cost is None and self.tokens is None and self.requests is None and self.concurrent is None

    def of(self, dimension: str) -> int | None:
        value: int | None = getattr(self, dimension)
        return value


@dataclass(frozen=True, slots=True)
class Threshold:
    percent: Decimal
    level: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A compiled budget. `per` holds the fields whose every value gets its own counters."""

    id: str
    name: str | None
    scope: str
    period: Period
    per: tuple[str, ...]
    match: tuple[tuple[str, frozenset[str]], ...]
    limits: Limits
    overrides: Mapping[str, Limits]
    thresholds: tuple[Threshold, ...]
    action: Action
    queue_timeout: float
    fallback: tuple[str, ...]
    fallback_order: str
    concurrency: str
    notice: str | None
    origin: str = "config"
    config: BudgetConfig | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """How notices name the budget: its `name`, else `'id'`."""
        return self.name or f"'{self.id}'"

    def limits_for(self, value: str | None) -> Limits:
        if value is not None and value in self.overrides:
            return self.overrides[value]
        return self.limits


@dataclass(frozen=True, slots=True)
class Applied:
    """A policy applied to one call: the counters' scope key and the limits in force for it."""

    policy: Policy
    scope_key: str
    limits: Limits

    @property
    def scope_label(self) -> str:
        return self.scope_key or "global"


def _limits(fields: LimitFields, concurrent: int | None) -> Limits:
    return Limits(
        cost=to_units(fields.cost_usd) if fields.cost_usd is not None else None,
        tokens=fields.tokens,
        requests=fields.requests,
        concurrent=concurrent,
    )


def _level(percent: Decimal) -> str:
    return "info" if percent < 80 else "warning" if percent < 95 else "critical"


@dataclass(frozen=True, slots=True)
class ExtraThreshold:
    """A threshold set from the CLI (`costwarden alert set --threshold 80 | --amount 50 [--budget ID]`),
    added to the thresholds of one budget (`budget`) or of every budget (None): a percent of the limits, or
    an amount of spend (a percent of the budget's cost limit; budgets without one, or with a smaller one,
    do not take it)."""

    budget: str | None = None
    percent: Decimal | None = None
    amount_usd: Decimal | None = None
    level: str | None = None

    @classmethod
    def from_mapping(cls, item: Mapping[str, Any]) -> ExtraThreshold:
        """As stored; raises ValueError for a mapping that is neither a percent nor an amount."""
        percent = item.get("percent")
        amount = item.get("amount_usd")
        if (percent is None) == (amount is None):
            raise ValueError(f"expected percent or amount_usd, got {dict(item)!r}")
        level = item.get("level")
        return cls(
            budget=item.get("budget"),
            percent=None if percent is None else Decimal(str(percent)),
            amount_usd=None if amount is None else Decimal(str(amount)),
            level=str(level) if level is not None else None,
        )

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {"budget": self.budget}
        if self.percent is not None:
            out["percent"] = str(self.percent)
        if self.amount_usd is not None:
            out["amount_usd"] = str(self.amount_usd)
        if self.level is not None:
            out["level"] = self.level
        return out

    @property
    def label(self) -> str:
        """`80%`, `$50.00`."""
        if self.percent is not None:
            return f"{self.percent:g}%"
        from costwarden.core.money import format_usd

        return format_usd(self.amount_usd or Decimal(0), 2)

    def percent_of(self, policy: Policy) -> Decimal | None:
        """The percent this threshold is for `policy` (None: it does not apply)."""
        if self.budget is not None and self.budget != policy.id:
            return None
        if self.percent is not None:
            return self.percent
        limit = policy.limits.cost
        if self.amount_usd is None or not limit:
            return None
        percent = to_units(self.amount_usd) * Decimal(100) / Decimal(limit)
        return percent if 0 < percent <= 100 else None


def with_extra_thresholds(policy: Policy, extras: Sequence[ExtraThreshold]) -> Policy:
    """`policy` with the thresholds set from the CLI that apply to it (a percent it already has is kept)."""
    found = {t.percent: t for t in policy.thresholds}
    for extra in extras:
        percent = extra.percent_of(policy)
        if percent is None or percent in found:
            continue
        default = "warning" if extra.amount_usd is not None else _level(percent)
        found[percent] = Threshold(percent, extra.level or default)
    if len(found) == len(policy.thresholds):
        return policy
    return replace(policy, thresholds=tuple(sorted(found.values(), key=lambda t: t.percent)))


def compile_policy(
    config: BudgetConfig, default_thresholds: Thresholds | None = None, origin: str = "config"
) -> Policy:
    """The matchable form of one `BudgetConfig`."""
    per: list[str] = []
    match: list[tuple[str, frozenset[str]]] = []
    if config.scope != "global":
        if config.value is not None:
            match.append((config.scope, frozenset([config.value])))
        else:
            per.append(config.scope)
    match += [(k, frozenset(v)) for k, v in sorted(config.where.items())]
    if config.period.kind is PeriodKind.RUN and "run" not in per:
        per.append("run")
    specs = config.thresholds if config.thresholds is not None else default_thresholds
    if specs is None:
        specs = [ThresholdConfig(percent=Decimal(p)) for p in DEFAULT_THRESHOLDS]
    thresholds = tuple(
        sorted(
            {
                t.percent: Threshold(t.percent, t.level or _level(t.percent), t.message) for t in specs
            }.values(),
            key=lambda t: t.percent,
        )
    )
    concurrent = config.max_concurrent
    return Policy(
        id=config.id,
        name=config.name,
        scope=config.scope if config.value is None else f"{config.scope}={config.value}",
        period=config.period,
        per=tuple(per),
        match=tuple(match),
        limits=_limits(config, concurrent),
        overrides={value: _limits(fields, concurrent) for value, fields in config.overrides.items()},
        thresholds=thresholds,
        action=config.action,
        queue_timeout=config.queue_timeout,
        fallback=tuple(config.fallback),
        fallback_order=config.fallback_order,
        concurrency=config.concurrency,
        notice=config.notice,
        origin=origin,
        config=config,
    )


def compile_policies(
    budgets: list[BudgetConfig], alerts: AlertsConfig | None = None, origin: str = "config"
) -> list[Policy]:
    defaults = alerts.thresholds if alerts is not None else None
    return [compile_policy(b, defaults, origin) for b in budgets if b.enabled]


def _value(attribution: Attribution, provider: str, model: str, name: str) -> str | None:
    if name == "provider":
        return provider
    if name == "model":
        return model
    return attribution.get(name)


Names = Callable[[str, str], tuple[str, str]]
"""The canonical (provider, model) of the names a caller gave (`PriceBook.canonical`)."""


def _normalized(provider: str, model: str) -> tuple[str, str]:
    return (normalize_provider(provider), model.strip()) if provider or model else (provider, model)


def _canonical_policy(policy: Policy, names: Names) -> Policy:
    """The policy with the provider and model values it names (scope value, `where`, `overrides`) in their
    canonical spelling, so `where: {provider: claude}` covers the calls recorded as `anthropic`."""
    named = {*policy.per, *(name for name, _ in policy.match)}
    if "provider" not in named and "model" not in named:
        return policy
    providers = dict(policy.match).get("provider", frozenset())
    hint = next(iter(providers)) if len(providers) == 1 else ""

    def one(name: str, value: str) -> str:
        if name == "provider":
            return normalize_provider(value)
        if name == "model":
            return names(hint, value)[1]
        return value

    match = tuple((name, frozenset(one(name, v) for v in allowed)) for name, allowed in policy.match)
    overrides = policy.overrides
    if policy.scope in ("provider", "model") and overrides:
        overrides = {one(policy.scope, value): limits for value, limits in overrides.items()}
    return replace(policy, match=match, overrides=overrides)


class PolicySet:
    """The active policies and a cache of which apply to a given attribution + provider/model.

    Provider and model are matched by their canonical names (`names`, by default the provider normalised:
    lower case, aliases mapped): the policies' own values and every call's names are resolved the same way.
    """

    def __init__(self, policies: list[Policy], names: Names | None = None) -> None:
        seen: set[str] = set()
        for policy in policies:
            if policy.id in seen:
                raise ValueError(f"duplicate budget id {policy.id!r}")
            seen.add(policy.id)
        self._names: Names = names if names is not None else _normalized
        policies = [_canonical_policy(policy, self._names) for policy in policies]
        self.policies: tuple[Policy, ...] = tuple(policies)
        self.by_id: dict[str, Policy] = {p.id: p for p in policies}
        fields: set[str] = set()
        for policy in policies:
            fields.update(policy.per)
            fields.update(name for name, _ in policy.match)
        self._fields = tuple(sorted(fields - {"provider", "model"}))
        self._cache: dict[tuple[Any, ...], tuple[Applied, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.policies)

    def applicable(
        self, attribution: Attribution, provider: str, model: str, *, runs: bool = False
    ) -> tuple[Applied, ...]:
        """Policies that apply to a call (or, with `runs=True`, to entering a run: run concurrency only)."""
        key = (runs, provider, model, *[attribution.get(f) for f in self._fields])
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if provider or model:
            provider, model = self._names(provider, model)
        out: list[Applied] = []
        for policy in self.policies:
            if runs and policy.concurrency != "runs":
                continue
            applied = self._apply(policy, attribution, provider, model, runs)
            if applied is not None:
                out.append(applied)
        result = tuple(out)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = result
        return result

    @staticmethod
    def _apply(
        policy: Policy, attribution: Attribution, provider: str, model: str, runs: bool
    ) -> Applied | None:
        for name, allowed in policy.match:
            if _value(attribution, provider, model, name) not in allowed:
                return None
        parts: list[str] = [
            f"{name}={next(iter(allowed))}" for name, allowed in policy.match if len(allowed) == 1
        ]
        limits = policy.limits
        for name in policy.per:
            value = _value(attribution, provider, model, name)
            if value is None:
                return None
            if name == policy.scope:
                limits = policy.limits_for(value)
            parts.append(f"{name}={value}")
        if policy.concurrency == "runs":
            if runs:
                limits = Limits(concurrent=limits.concurrent)
            else:
                limits = Limits(cost=limits.cost, tokens=limits.tokens, requests=limits.requests)
        if limits.empty():
            return None
        return Applied(policy, "|".join(parts), limits)
