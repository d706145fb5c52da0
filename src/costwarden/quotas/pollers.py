"""Active quota sources: pollers that ask a provider's API (or your own command or URL) what is used and
left, with caching, backoff and stale values marked stale. The `quota_pollers:` config section:

    quota_pollers:
      - kind: openrouter            # GET {base_url}/key: limit, usage, limit_remaining, limit_reset
        api_key_env: OPENROUTER_API_KEY
      - kind: anthropic-admin       # GET {base_url}/organizations/cost_report (month to date, in cents)
        api_key_env: ANTHROPIC_ADMIN_KEY
      - kind: openai-admin          # GET {base_url}/organization/costs and /organization/usage/completions
        api_key_env: OPENAI_ADMIN_KEY
      - kind: http-json             # your own source: GET url -> the poller JSON below
        provider: local-gpu
        url: http://127.0.0.1:9000/quota
      - kind: command               # your own source: run a command -> the poller JSON on stdout
        provider: vendor-x
        command: [vendor-quota, --json]

Every poller answers with windows of provider + account, stored as readings (source `poll:<name>`). The
poller JSON of `http-json` and `command`:

    {"windows": [{"name": "credits", "unit": "usd", "limit": 25, "used": 7.5, "remaining": 17.5,
                  "utilization": null, "reset_at": "2026-12-31T00:00:00Z", "status": null}]}

(`unit`: `requests`, `tokens` or `usd`, dollars as numbers; any of the amounts may be left out.)

Caching: a poller whose newest reading is younger than its `ttl` is not asked again (`quota poll --force`
asks anyway). A failed poll keeps the last reading, reported as stale, and backs off: the next attempt in
this process waits `ttl` x 2^(failures - 1), at most an hour.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from costwarden.core.money import to_units
from costwarden.core.policy import Seconds
from costwarden.quotas.tracker import Quotas
from costwarden.storage.quotas import DEFAULT_ACCOUNT, QuotaReading, QuotaSnapshot, QuotaWindow

__all__ = [
    "PollerConfig",
    "PollResult",
    "PollError",
    "Fetch",
    "FETCHERS",
    "poll_all",
    "parse_poller_json",
]

_DEFAULT_URLS = {
    "openrouter": "https://openrouter.ai/api/v1",
    "anthropic-admin": "https://api.anthropic.com/v1",
    "openai-admin": "https://api.openai.com/v1",
}
_PROVIDERS = {"openrouter": "openrouter", "anthropic-admin": "anthropic", "openai-admin": "openai"}
_MAX_BACKOFF = 3600.0
_TIMEOUT = 20.0
_MAX_BYTES = 4 * 1024 * 1024
_MAX_PAGES = 50


class PollError(Exception):
    """A poll failed: the source could not be reached, refused, or answered in an unexpected shape."""


class PollerConfig(BaseModel):
    """One poller (an item of `quota_pollers:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["openrouter", "anthropic-admin", "openai-admin", "http-json", "command"]
    name: str | None = None
    """Names the poller's readings (`poll:<name>`); default: its kind (and account)."""
    provider: str | None = None
    account: str = DEFAULT_ACCOUNT
    api_key_env: str | None = None
    base_url: str | None = None
    url: str | None = None
    command: list[str] | None = None
    ttl: Seconds = 300.0

    @model_validator(mode="after")
    def _consistent(self) -> PollerConfig:
        if self.kind == "http-json" and not self.url:
            raise ValueError("an http-json poller needs `url`")
        if self.kind == "command" and not self.command:
            raise ValueError("a command poller needs `command` (a list: program and arguments)")
        if self.kind in ("http-json", "command") and not self.provider:
            raise ValueError(f"a {self.kind} poller needs `provider` (whose quota it reports)")
        if self.kind in _DEFAULT_URLS and not self.api_key_env:
            raise ValueError(f"a {self.kind} poller needs `api_key_env` (the variable holding its key)")
        for url in (self.url, self.base_url):
            if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
        return self

    @property
    def provider_name(self) -> str:
        return self.provider or _PROVIDERS[self.kind]

    @property
    def label(self) -> str:
        base = self.name or self.kind
        return base if self.name or self.account == DEFAULT_ACCOUNT else f"{base}:{self.account}"

    @property
    def source(self) -> str:
        return f"poll:{self.label}"


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poller gave: fresh readings, cached ones (younger than its TTL), or stale ones after an
    error (`error` says why)."""

    poller: PollerConfig
    readings: tuple[QuotaReading, ...]
    state: Literal["fresh", "cached", "stale", "failed"]
    error: str | None = None
    age_seconds: float | None = None


# -- transport ----------------------------------------------------------------------------------------------


def _get_json(url: str, headers: Mapping[str, str]) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            body = response.read(_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise PollError(f"HTTP {exc.code} from {_shown(url)}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise PollError(f"cannot reach {_shown(url)}: {getattr(exc, 'reason', exc)}") from None
    if len(body) > _MAX_BYTES:
        raise PollError(f"{_shown(url)} answered more than 4 MiB")
    try:
        return json.loads(body)
    except ValueError:
        raise PollError(f"{_shown(url)} did not answer JSON") from None


def _shown(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _key(config: PollerConfig, environ: Mapping[str, str]) -> str:
    name = config.api_key_env or ""
    value = environ.get(name, "")
    if not value:
        raise PollError(f"${name} is not set (the {config.kind} poller's key)")
    return value


def _number(value: object, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PollError(f"{where}: expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PollError(f"{where}: expected a number, got {value!r}") from None
    if not number.is_finite() or number < 0 or number > 10**8:
        raise PollError(f"{where}: {value!r} is out of range")
    return number


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PollError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PollError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _usd(amount: Decimal | None) -> int | None:
    return None if amount is None else to_units(amount)


def _month_start(now: datetime) -> datetime:
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def _next_month(now: datetime) -> datetime:
    return datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)


# -- built-in pollers ---------------------------------------------------------------------------------------

Fetch = Callable[[PollerConfig, datetime, Mapping[str, str]], dict[str, QuotaWindow]]
"""A poller: its config, "now" and the environment -> the windows it read (raises `PollError`)."""


def _openrouter(config: PollerConfig, now: datetime, environ: Mapping[str, str]) -> dict[str, QuotaWindow]:
    """OpenRouter's `GET /key`: `data.limit` (null: unlimited), `data.usage`, `data.limit_remaining`,
    `data.limit_reset` (`daily` / `weekly` / `monthly` / null), `usage_daily` / `_weekly` / `_monthly`."""
    base = (config.base_url or _DEFAULT_URLS["openrouter"]).rstrip("/")
    body = _get_json(f"{base}/key", {"Authorization": f"Bearer {_key(config, environ)}"})
    data = _object(_object(body, "response").get("data"), "data")
    limit = _number(data.get("limit"), "data.limit")
    usage = _number(data.get("usage"), "data.usage")
    remaining = _number(data.get("limit_remaining"), "data.limit_remaining")
    reset_rule = data.get("limit_reset")
    reset_at = None
    if reset_rule == "daily":
        reset_at = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    elif reset_rule == "weekly":
        day = now.date() + timedelta(days=7 - now.weekday())
        reset_at = datetime(day.year, day.month, day.day, tzinfo=UTC)
    elif reset_rule == "monthly":
        reset_at = _next_month(now)
    windows = {
        "credits": QuotaWindow(
            "credits",
            limit=_usd(limit),
            used=_usd(usage),
            remaining=_usd(remaining),
            reset_at=reset_at,
            unit="usd",
        )
    }
    for period in ("daily", "weekly", "monthly"):
        spent = _number(data.get(f"usage_{period}"), f"data.usage_{period}")
        if spent is not None:
            windows[f"usage-{period}"] = QuotaWindow(f"usage-{period}", used=_usd(spent), unit="usd")
    return windows


def _anthropic(config: PollerConfig, now: datetime, environ: Mapping[str, str]) -> dict[str, QuotaWindow]:
    """Anthropic's Admin API `GET /organizations/cost_report` for the month so far: `data[].results[]
    .amount` is a decimal string in cents of `currency` USD (paged by `has_more` / `next_page`)."""
    base = (config.base_url or _DEFAULT_URLS["anthropic-admin"]).rstrip("/")
    headers = {"x-api-key": _key(config, environ), "anthropic-version": "2023-06-01"}
    start = _month_start(now).strftime("%Y-%m-%dT%H:%M:%SZ")
    total = Decimal(0)
    page: str | None = None
    for _ in range(_MAX_PAGES):
        query = {"starting_at": start, "bucket_width": "1d", "limit": "31"}
        if page:
            query["page"] = page
        body = _object(
            _get_json(f"{base}/organizations/cost_report?{urllib.parse.urlencode(query)}", headers),
            "response",
        )
        for b, bucket in enumerate(_list(body.get("data"), "data")):
            for r, result in enumerate(
                _list(_object(bucket, f"data[{b}]").get("results"), f"data[{b}].results")
            ):
                item = _object(result, f"data[{b}].results[{r}]")
                if str(item.get("currency", "USD")).upper() != "USD":
                    raise PollError(
                        f"data[{b}].results[{r}].currency: expected USD, got {item.get('currency')!r}"
                    )
                cents = _number(item.get("amount"), f"data[{b}].results[{r}].amount") or Decimal(0)
                total += cents / 100
        if not body.get("has_more"):
            break
        page = body.get("next_page")
        if not isinstance(page, str) or not page:
            raise PollError("has_more without a next_page")
    return {
        "cost-month": QuotaWindow("cost-month", used=to_units(total), reset_at=_next_month(now), unit="usd")
    }


def _openai(config: PollerConfig, now: datetime, environ: Mapping[str, str]) -> dict[str, QuotaWindow]:
    """OpenAI's `GET /organization/costs` (`data[].results[].amount.value` in `currency` usd) and
    `GET /organization/usage/completions` (`input_tokens`, `output_tokens`, `num_model_requests`) for the
    month so far (paged by `has_more` / `next_page`)."""
    base = (config.base_url or _DEFAULT_URLS["openai-admin"]).rstrip("/")
    headers = {"Authorization": f"Bearer {_key(config, environ)}"}
    start = str(int(_month_start(now).timestamp()))

    def results(path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page: str | None = None
        for _ in range(_MAX_PAGES):
            query = {"start_time": start, "bucket_width": "1d", "limit": "31"}
            if page:
                query["page"] = page
            body = _object(_get_json(f"{base}{path}?{urllib.parse.urlencode(query)}", headers), "response")
            for b, bucket in enumerate(_list(body.get("data"), "data")):
                items = _list(_object(bucket, f"data[{b}]").get("results"), f"data[{b}].results")
                out += [_object(item, f"data[{b}].results[{i}]") for i, item in enumerate(items)]
            if not body.get("has_more"):
                return out
            page = body.get("next_page")
            if not isinstance(page, str) or not page:
                raise PollError("has_more without a next_page")
        return out

    cost = Decimal(0)
    for i, item in enumerate(results("/organization/costs")):
        amount = _object(item.get("amount"), f"results[{i}].amount")
        if str(amount.get("currency", "usd")).lower() != "usd":
            raise PollError(f"results[{i}].amount.currency: expected usd, got {amount.get('currency')!r}")
        cost += _number(amount.get("value"), f"results[{i}].amount.value") or Decimal(0)
    tokens = requests = 0
    for i, item in enumerate(results("/organization/usage/completions")):
        for name in ("input_tokens", "output_tokens"):
            tokens += int(_number(item.get(name), f"results[{i}].{name}") or 0)
        requests += int(_number(item.get("num_model_requests"), f"results[{i}].num_model_requests") or 0)
    reset = _next_month(now)
    return {
        "cost-month": QuotaWindow("cost-month", used=to_units(cost), reset_at=reset, unit="usd"),
        "tokens-month": QuotaWindow("tokens-month", used=tokens, reset_at=reset, unit="tokens"),
        "requests-month": QuotaWindow("requests-month", used=requests, reset_at=reset, unit="requests"),
    }


def _amount(data: Mapping[str, Any], key: str, where: str, unit: object) -> int | None:
    value = _number(data.get(key), f"{where}.{key}")
    if value is None:
        return None
    return to_units(value) if unit == "usd" else int(value)


def parse_poller_json(body: object) -> dict[str, QuotaWindow]:
    """The windows of the poller JSON (see the module docstring); raises `PollError` naming the field."""
    windows: dict[str, QuotaWindow] = {}
    for index, item in enumerate(_list(_object(body, "response").get("windows"), "windows")):
        where = f"windows[{index}]"
        data = _object(item, where)
        name = data.get("name")
        if not isinstance(name, str) or not name or len(name) > 128:
            raise PollError(f"{where}.name: expected a name, got {name!r}")
        unit = data.get("unit")
        if unit not in (None, "requests", "tokens", "usd"):
            raise PollError(f"{where}.unit: expected requests, tokens or usd, got {unit!r}")

        utilization = _number(data.get("utilization"), f"{where}.utilization")
        reset = data.get("reset_at")
        reset_at = None
        if reset is not None:
            try:
                reset_at = datetime.fromisoformat(str(reset).replace("Z", "+00:00"))
            except ValueError:
                raise PollError(f"{where}.reset_at: expected an ISO-8601 time, got {reset!r}") from None
            if reset_at.tzinfo is None:
                reset_at = reset_at.replace(tzinfo=UTC)
        status = data.get("status")
        limit, used, remaining = (_amount(data, key, where, unit) for key in ("limit", "used", "remaining"))
        windows[name] = QuotaWindow(
            name,
            limit=limit,
            used=used,
            remaining=remaining,
            utilization=None if utilization is None else float(utilization),
            reset_at=reset_at,
            status=str(status)[:64] if status is not None else None,
            unit=unit if isinstance(unit, str) else None,
        )
    return windows


def _http_json(config: PollerConfig, now: datetime, environ: Mapping[str, str]) -> dict[str, QuotaWindow]:
    headers = {"Authorization": f"Bearer {_key(config, environ)}"} if config.api_key_env else {}
    return parse_poller_json(_get_json(config.url or "", headers))


def _command(config: PollerConfig, now: datetime, environ: Mapping[str, str]) -> dict[str, QuotaWindow]:
    command = config.command or []
    try:
        done = subprocess.run(command, capture_output=True, timeout=_TIMEOUT, check=False, env=dict(environ))
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PollError(f"cannot run {command[0]!r}: {exc}") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-200:]
        raise PollError(f"{command[0]!r} exited with {done.returncode}" + (f": {tail}" if tail else ""))
    try:
        body = json.loads(done.stdout[:_MAX_BYTES])
    except ValueError:
        raise PollError(f"{command[0]!r} did not print JSON") from None
    return parse_poller_json(body)


FETCHERS: Mapping[str, Fetch] = {
    "openrouter": _openrouter,
    "anthropic-admin": _anthropic,
    "openai-admin": _openai,
    "http-json": _http_json,
    "command": _command,
}
"""Poller kind -> how it reads its source."""


# -- polling with caching and backoff -----------------------------------------------------------------------

_failures: dict[str, tuple[int, float]] = {}
"""Per poller source: consecutive failures and the monotonic time of the next attempt (this process)."""


def poll_all(
    quotas: Quotas,
    pollers: list[PollerConfig],
    *,
    now: datetime,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[PollResult]:
    """Ask every poller whose readings are older than its TTL (all with `force`), record what they read
    and return each one's readings (fresh, cached or stale)."""
    env = os.environ if environ is None else environ
    out: list[PollResult] = []
    for config in pollers:
        provider, account = config.provider_name, config.account
        previous = [
            r for r in quotas.readings(provider=provider, account=account) if r.source == config.source
        ]
        newest = max((r.observed_at for r in previous), default=None)
        age = None if newest is None else (now - newest).total_seconds()
        if not force and age is not None and 0 <= age < config.ttl:
            out.append(PollResult(config, tuple(previous), "cached", age_seconds=age))
            continue
        failures, next_try = _failures.get(config.source, (0, 0.0))
        if not force and time.monotonic() < next_try:
            state: Literal["stale", "failed"] = "stale" if previous else "failed"
            out.append(PollResult(config, tuple(previous), state, "backing off after errors", age))
            continue
        try:
            windows = FETCHERS[config.kind](config, now, env)
        except PollError as exc:
            failures += 1
            wait = min(_MAX_BACKOFF, config.ttl * 2 ** (failures - 1))
            _failures[config.source] = (failures, time.monotonic() + wait)
            state = "stale" if previous else "failed"
            out.append(PollResult(config, tuple(previous), state, str(exc), age))
            continue
        _failures.pop(config.source, None)
        snapshot = QuotaSnapshot(provider, now, windows, account=account, source=config.source)
        quotas.record_many([snapshot])
        fresh = tuple(
            r for r in quotas.readings(provider=provider, account=account) if r.source == config.source
        )
        out.append(PollResult(config, fresh, "fresh", age_seconds=0.0))
    return out
