"""Seed 003's dialect (one agent renting cognition from several backends): `budgets:` as a section of
keys instead of costwarden's list.

    budgets:
      daily_limit_usd: 5.00
      monthly_limit_usd: 50.00
      per_backend:
        claude: 20.00/month
        kimi: 15.00/month
      warning_threshold: 0.8  # warn at 80% spend
      hard_stop: true         # refuse cloud calls at limit

The daily and monthly limits cover every cloud backend (the `per_backend` ones and the per-token or
subscription providers under `providers:`); local models are never counted. A backend is named as
callers spell it (`claude` is `anthropic`, `kimi` is `moonshotai`, `gpt` is `openai`, `gemini` is `google`)
and its limit is `AMOUNT/PERIOD` (hour, day, week or month; a bare amount is per month). With
`hard_stop: true` a call past a limit goes to a local model instead (a backend's own limit first tries the
next backend with room) with the notice "Cloud budget exhausted, operating local-only until <reset>";
with `hard_stop: false` it is allowed with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from costwarden.core.provider_names import normalize_provider
from costwarden.dialects.common import Builder

__all__ = ["NAME", "claims", "apply"]

NAME = "budget block (seed 003)"
_KEYS = ("daily_limit_usd", "monthly_limit_usd", "per_backend", "warning_threshold", "hard_stop")
_PERIODS = ("hour", "day", "week", "month")


def claims(data: Mapping[str, Any]) -> bool:
    return isinstance(data.get("budgets"), Mapping)


def _threshold(build: Builder, value: object) -> Decimal:
    key = "budgets.warning_threshold"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        build.fail(key, f"expected a fraction such as 0.8 (or a percent such as 80), got {value!r}")
    try:
        number = Decimal(str(value).strip().removesuffix("%"))
    except ArithmeticError:
        build.fail(key, f"expected a fraction such as 0.8, got {value!r}")
    percent = number * 100 if number <= 1 and not str(value).strip().endswith("%") else number
    if not 0 < percent <= 100:
        build.fail(key, f"expected a fraction from 0 (exclusive) to 1, got {value!r}")
    return percent.quantize(Decimal(1)) if percent == percent.to_integral_value() else percent.normalize()


def _backend_limit(build: Builder, value: object, key: str) -> tuple[Decimal, str]:
    if isinstance(value, str) and "/" in value:
        amount, _, period = value.partition("/")
        period = period.strip().lower()
        if period not in _PERIODS:
            build.fail(key, f"expected AMOUNT/PERIOD with a period of {', '.join(_PERIODS)}, got {value!r}")
        return build.money(amount.strip().removeprefix("$"), key), period
    return build.money(value, key), "month"


def _cloud(build: Builder, backends: list[str]) -> list[str]:
    names = list(backends)
    providers = build.data.get("providers")
    for item in providers if isinstance(providers, list) else []:
        if (
            isinstance(item, Mapping)
            and item.get("kind", "per_token") != "local"
            and isinstance(item.get("name"), str)
        ):
            name = normalize_provider(item["name"])
            if name not in names:
                names.append(name)
    return names


def apply(build: Builder) -> None:
    build.recognised(NAME)
    section = build.section(build.data.pop("budgets"), "budgets")
    build.only(section, _KEYS, "budgets")
    hard = build.flag(section.get("hard_stop", False), "budgets.hard_stop")
    thresholds = [_threshold(build, section["warning_threshold"])] if "warning_threshold" in section else None
    backends: dict[str, tuple[str, Decimal, str]] = {}
    for name, value in build.section(section.get("per_backend"), "budgets.per_backend").items():
        key = f"budgets.per_backend.{name}"
        provider = normalize_provider(name)
        if provider in backends:
            build.fail(key, f"{name!r} is {provider!r}, which {backends[provider][0]!r} already names")
        amount, period = _backend_limit(build, value, key)
        backends[provider] = (name, amount, period)
    cloud = _cloud(build, list(backends))
    if hard:
        stop = {"action": "fallback", "fallback": ["local"]}
        how = "past the limit calls go to a local model"
    else:
        stop = {"action": "warn"}
        how = "past the limit calls are allowed with a warning"
    extra: dict[str, Any] = {} if thresholds is None else {"thresholds": thresholds}
    for key, period in (("daily_limit_usd", "day"), ("monthly_limit_usd", "month")):
        if key not in section:
            continue
        amount = build.money(section[key], f"budgets.{key}")
        budget: dict[str, Any] = {"id": f"cloud-{'daily' if period == 'day' else 'monthly'}", "name": "Cloud"}
        budget.update(period=period, cost_usd=amount, **extra, **stop)
        if cloud:
            budget["where"] = {"provider": cloud}
        scope = f"the cloud providers ({', '.join(cloud)})" if cloud else "every provider"
        build.add_budget(budget, f"budgets.{key}", f"{scope} per {period}; {how}")
    for period in _PERIODS:
        mine = {p: amount for p, (_, amount, per) in backends.items() if per == period}
        if not mine:
            continue
        budget = {"id": f"per-backend-{period}", "name": "Cloud", "scope": "provider", "period": period}
        budget["overrides"] = {p: {"cost_usd": amount} for p, amount in mine.items()}
        budget.update(extra)
        if hard:
            budget.update(action="fallback", fallback=["chain"], fallback_order="priority")
        else:
            budget.update(action="warn")
        # a provider without a limit of its own is not limited by this budget
        budget["where"] = {"provider": list(mine)}
        names = ", ".join(f"{backends[p][0]} -> {p}" for p in mine)
        build.add_budget(budget, "budgets.per_backend", f"per {period} each: {names}")
    if thresholds is not None:
        build.mapped(
            "budgets.warning_threshold", "thresholds of these budgets", f"an alert at {thresholds[0]} %"
        )
    build.mapped("budgets.hard_stop", "action of these budgets", how)
