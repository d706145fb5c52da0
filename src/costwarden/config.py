"""Settings: one config file (YAML, or TOML) validated into typed models.

Where things come from, first match wins:
- the config file: `--config PATH`, else `$COSTWARDEN_CONFIG`, else `config.yaml` / `config.yml` /
  `config.toml` in the user config dir (e.g. `~/.config/costwarden/`), else no file (all defaults);
- the database: `--db URL`, else `$COSTWARDEN_DATABASE_URL`, else the file's `database:`, else a SQLite file
  `costwarden.db` in the user data dir (e.g. `~/.local/share/costwarden/`).

Every error names the file, the key path and what was expected, e.g.
`costwarden.yaml: budgets[0].limits.cost_usd: expected a non-negative amount, got '-5'`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pydantic
from pydantic import Field, field_validator

from costwarden.core.config_fields import Section, check_timezone
from costwarden.core.limits import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, MAX_TOKENS
from costwarden.core.policy import AdmissionConfig, AlertsConfig, BudgetConfig
from costwarden.core.redact import mask_url
from costwarden.core.routing import ProviderConfig
from costwarden.errors import ConfigError
from costwarden.gateway.config import GatewayConfig
from costwarden.pricing.config import PricingConfig
from costwarden.pricing.tiers import TiersConfig
from costwarden.quotas.alerts import UtilizationAlertsConfig
from costwarden.quotas.exhaustion import QuotaRoutingConfig
from costwarden.quotas.plans import SubscriptionConfig
from costwarden.quotas.pollers import PollerConfig
from costwarden.quotas.rate_limits import RateLimitConfig

__all__ = [
    "CONFIG_ENV",
    "DATABASE_ENV",
    "Settings",
    "RetentionConfig",
    "EstimationConfig",
    "load_settings",
    "with_database",
    "find_config_file",
    "read_config_file",
    "default_database_url",
    "user_config_dir",
    "user_data_dir",
    "cost_tier_keys",
]

CONFIG_ENV = "COSTWARDEN_CONFIG"
DATABASE_ENV = "COSTWARDEN_DATABASE_URL"
_CONFIG_NAMES = ("config.yaml", "config.yml", "config.toml")
_MAX_DAYS = 100 * 366
"""Retention periods: at most a century (dates are accepted from 2000 to 2099)."""
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_TOO_DEEP = f"config file is nested more than {MAX_CONFIG_DEPTH} levels deep"


class RetentionConfig(Section):
    """How long each level of detail is kept (`costwarden maintain`). None keeps forever."""

    detailed_days: int | None = Field(default=90, ge=1, le=_MAX_DAYS)
    daily_days: int | None = Field(default=365, ge=1, le=_MAX_DAYS)
    monthly_days: int | None = Field(default=None, ge=1, le=_MAX_DAYS)


class EstimationConfig(Section):
    """How the worst case of a call is estimated before it runs."""

    default_max_tokens: int = Field(default=4096, ge=1, le=MAX_TOKENS)
    """Output tokens assumed when a call sets no `max_tokens`."""
    safety_margin: float = Field(default=0.10, ge=0, le=10)
    """Added to input token estimates of models without an exact tokenizer (0.10 = +10 %)."""


class Settings(Section):
    """The whole configuration. Unknown keys are refused."""

    database: str | None = None
    timezone: str = "UTC"
    redis_url: str | None = None
    pricing: PricingConfig = Field(default_factory=PricingConfig)
    tiers: TiersConfig = Field(default_factory=TiersConfig)
    budgets: list[BudgetConfig] = Field(default_factory=list)
    providers: list[ProviderConfig] = Field(default_factory=list)
    subscriptions: list[SubscriptionConfig] = Field(default_factory=list)
    rate_limits: list[RateLimitConfig] = Field(default_factory=list)
    quota_pollers: list[PollerConfig] = Field(default_factory=list)
    utilization_alerts: UtilizationAlertsConfig = Field(default_factory=UtilizationAlertsConfig)
    quota_routing: QuotaRoutingConfig = Field(default_factory=QuotaRoutingConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    admission: AdmissionConfig = Field(default_factory=AdmissionConfig)
    estimation: EstimationConfig = Field(default_factory=EstimationConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    source: str | None = Field(default=None, exclude=True)
    """The file the settings were read from (None: defaults only)."""

    _timezone = field_validator("timezone")(check_timezone)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_REDIS_SCHEMES):
            raise ValueError(
                "expected a Redis URL (redis://host:6379/0, rediss://... or unix:///path.sock), "
                f"got {mask_url(value)!r}"
            )
        return value

    @field_validator("budgets", "providers", "subscriptions", "rate_limits", "quota_pollers", mode="before")
    @classmethod
    def _list_or_none(cls, value: object) -> object:
        return [] if value is None else value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def user_config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("costwarden"))


def user_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("costwarden"))


def default_database_url() -> str:
    """`sqlite:///<user data dir>/costwarden.db`."""
    return f"sqlite:///{user_data_dir() / 'costwarden.db'}"


def find_config_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: `path`, else `$COSTWARDEN_CONFIG`, else one in the user config dir."""
    if path is not None:
        explicit = Path(path)
        if not explicit.is_file():
            raise ConfigError("config file not found", source=str(explicit))
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        from_env = Path(env)
        if not from_env.is_file():
            raise ConfigError(f"config file not found (named by ${CONFIG_ENV})", source=str(from_env))
        return from_env
    for name in _CONFIG_NAMES:
        candidate = user_config_dir() / name
        if candidate.is_file():
            return candidate
    return None


def _depth(data: object, limit: int) -> int:
    """How deep mappings and lists nest in `data` (stops counting past `limit`; no recursion)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", source=str(path)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("config file is larger than 1 MiB", source=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file is not valid UTF-8 (byte {raw[exc.start]:#04x} at line {line})", source=str(path)
        ) from None


def _read_file(path: Path) -> Mapping[str, Any]:
    text = _read_text(path)
    if path.suffix == ".toml":
        import tomllib  # here: a command without a config file reads neither format

        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", source=str(path)) from None
        except RecursionError:
            raise ConfigError(_TOO_DEEP, source=str(path)) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except RecursionError:
            raise ConfigError(_TOO_DEEP, source=str(path)) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"invalid YAML{where}: {problem}", source=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"expected a mapping of sections at the top, got {type(data).__name__}", source=str(path)
        )
    if _depth(data, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH:
        raise ConfigError(_TOO_DEEP, source=str(path))
    return data


def read_config_file(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """A config file's data as read (YAML, or TOML by its `.toml` suffix), before validation."""
    found = find_config_file(path)
    assert found is not None
    return _read_file(found)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    given = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(error.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if kind not in ("value_error", "assertion_error") and not isinstance(given, Mapping | list):
        msg = f"{msg}, got {given!r}"
    return msg


def validation_to_config_error(exc: pydantic.ValidationError, source: str | None) -> ConfigError:
    """The first validation problem as a ConfigError naming file and key path (others are appended)."""
    errors = exc.errors()
    first = errors[0]
    message = _describe(first)
    key = _key_path(tuple(first["loc"]))
    inner = _INNER_KEY.match(message)
    if inner is not None:  # a section's check naming an item of it: `alerts` + `channels[2]: ...`
        key, message = f"{key}.{inner.group(1)}", message[inner.end() :]
    if len(errors) > 1:
        more = "; ".join(f"{_key_path(tuple(e['loc']))}: {_describe(e)}" for e in errors[1:4])
        message += f" (also: {more})"
    return ConfigError(message, source=source or "configuration", key=key)


_INNER_KEY = re.compile(r"^([a-z_]+\[\d+\](?:\.[a-z_]+)*): ")


def settings_from_mapping(data: Mapping[str, Any], source: str | None = None) -> Settings:
    """Validate a mapping (as read from a config file) into Settings. A dialect of the seeds
    (`costwarden.dialects`) is translated first; an error in what it produced names the file's own key."""
    from costwarden.dialects import translate

    translation = translate(data, source)
    try:
        try:
            settings = Settings.model_validate({**translation.data, "source": source})
        except pydantic.ValidationError as exc:
            raise validation_to_config_error(exc, source) from None
        _check_unique(settings, source)
        _check_fallbacks(settings, source)
        _check_cost_tiers(settings, source)
    except ConfigError as exc:
        origin = translation.origin_of(exc.key) if exc.key else None
        if origin is None:
            raise
        message = str(exc).removeprefix(f"{exc.source}: {exc.key}: ")
        raise ConfigError(f"{message} (as {exc.key})", source=exc.source, key=origin) from None
    return settings


_PROVIDER_KINDS = ("per_token", "subscription", "local")


def _fallback_problem(item: str, settings: Settings, catalog: list[Any]) -> str | None:
    """Why a fallback route names nothing (None: it names a route that can exist)."""
    listed = {p.name for p in settings.providers}
    if item in ("chain", "any", "local"):
        return None
    if item.startswith("kind:"):
        if item[5:] in _PROVIDER_KINDS:
            return None
        return f"unknown provider kind in {item!r}; use kind:{', kind:'.join(_PROVIDER_KINDS)}"
    if item.startswith("tier:"):
        named = sorted({tier for _, tier in cost_tier_keys(settings)})
        if item[5:] in named:
            return None
        listed_tiers = f" (named: {', '.join(named)})" if named else ""
        return (
            f"fallback {item!r} names a tier no provider or model under `providers:` has as its "
            f"cost_tier{listed_tiers}"
        )
    if "/" not in item:
        if item in listed:
            return None
        known = f" (listed: {', '.join(sorted(listed))})" if listed else ""
        return (
            f"fallback {item!r} names no provider listed under `providers:`{known}; "
            "list it there, or name a route as provider/model"
        )
    provider, _, model = item.partition("/")
    if not provider or not model:
        return f"expected provider/model, got {item!r}"
    if provider in listed:
        return None
    from costwarden.core.provider_names import normalize_provider
    from costwarden.pricing.catalog import GenaiPricesCatalog

    name = normalize_provider(provider)
    if name in {p.provider for p in settings.pricing.local_providers}:
        return None
    if not catalog:
        catalog.append(GenaiPricesCatalog())
    if catalog[0].is_provider(name):
        return None
    return (
        f"fallback {item!r} names provider {provider!r}, which is neither listed under `providers:` "
        "nor known to the price catalog"
    )


def _check_fallbacks(settings: Settings, source: str | None) -> None:
    """Every fallback route names a provider that exists; the error names the budget and the item."""
    catalog: list[Any] = []  # built once, only when a route needs it
    sections: tuple[tuple[str, list[list[str]]], ...] = (
        ("budgets", [b.fallback for b in settings.budgets]),
        ("rate_limits", [r.fallback for r in settings.rate_limits]),
    )
    for section, routes in sections:
        for index, fallback in enumerate(routes):
            for position, item in enumerate(fallback):
                problem = _fallback_problem(item, settings, catalog)
                if problem is not None:
                    raise ConfigError(
                        problem,
                        source=source or "configuration",
                        key=f"{section}[{index}].fallback[{position}]",
                    )


def cost_tier_keys(settings: Settings) -> list[tuple[str, str]]:
    """Every tier the providers name, with its key: `(providers[1].cost_tier, premium)`,
    `(providers[0].models[1].cost_tier, high)`, in file order."""
    out: list[tuple[str, str]] = []
    for index, provider in enumerate(settings.providers):
        if provider.cost_tier is not None:
            out.append((f"providers[{index}].cost_tier", provider.cost_tier))
        for position, model in enumerate(provider.models):
            if model.cost_tier is not None:
                out.append((f"providers[{index}].models[{position}].cost_tier", model.cost_tier))
    return out


def _check_cost_tiers(settings: Settings, source: str | None) -> None:
    """Every `cost_tier` of a provider or of one of its models names a tier of the config (built in, or
    under `tiers.definitions`); the error names the key and the tiers there are."""
    named = cost_tier_keys(settings)
    if not named:
        return
    from costwarden.pricing.tiers import merge_tiers

    known = [t.id for t in merge_tiers(settings.tiers)]
    for key, tier in named:
        if tier not in known:
            raise ConfigError(
                f"no tier {tier!r} (known: {', '.join(known)}); define it under tiers.definitions",
                source=source or "configuration",
                key=key,
            )


def _check_unique(settings: Settings, source: str | None) -> None:
    """Budget ids and provider names are unique; the error names the second occurrence."""
    sections = (
        ("budgets", "id", [b.id for b in settings.budgets]),
        ("providers", "name", [p.name for p in settings.providers]),
        ("subscriptions", "account", [s.key for s in settings.subscriptions]),
        ("rate_limits", "provider", [r.key for r in settings.rate_limits]),
        ("quota_pollers", "name", [p.source for p in settings.quota_pollers]),
    )
    for section, key, names in sections:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                raise ConfigError(
                    f"{name!r} is used twice",
                    source=source or "configuration",
                    key=f"{section}[{index}].{key}",
                )
            seen.add(name)


def load_settings(
    config: str | os.PathLike[str] | None = None,
    *,
    database: str | None = None,
) -> Settings:
    """Read and validate the configuration, then apply the database precedence (argument, env, file,
    default)."""
    path = find_config_file(config)
    data: Mapping[str, Any] = _read_file(path) if path is not None else {}
    settings = settings_from_mapping(data, str(path) if path is not None else None)
    url = database or os.environ.get(DATABASE_ENV) or settings.database or default_database_url()
    return settings.model_copy(update={"database": url})


def with_database(settings: Settings, database: str | None = None) -> Settings:
    """Settings given by a program, with the database resolved: `database`, else the settings' own
    `database`, else `$COSTWARDEN_DATABASE_URL`, else the default SQLite file (as the CLI would use)."""
    url = database or settings.database or os.environ.get(DATABASE_ENV) or default_database_url()
    return settings if url == settings.database else settings.model_copy(update={"database": url})
