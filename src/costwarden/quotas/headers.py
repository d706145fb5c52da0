"""Rate-limit headers of a response -> a `QuotaSnapshot` (the passive source of quota readings).

OpenAI sends `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets as durations such as
`6m0s`); Anthropic sends `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,
reset}` (resets as RFC 3339 times) and, for subscription plans, `anthropic-ratelimit-unified-*` windows
with a utilization. Both may send `retry-after`.

`parse_quota_headers` reads them; `costwarden.quotas.Quotas.observe` keeps what they say.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from costwarden.clock import default_now
from costwarden.storage.quotas import DEFAULT_ACCOUNT, QuotaSnapshot, QuotaWindow

__all__ = [
    "parse_quota_headers",
    "parse_duration",
    "ratelimit_headers",
]

_OPENAI = re.compile(r"^x-ratelimit-(limit|remaining|reset)-(.+)$")
_ANTHROPIC = re.compile(r"^anthropic-ratelimit-(.+)-(limit|remaining|reset|utilization|status)$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def ratelimit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The rate-limit related headers of a response, names lower-cased."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low.startswith(("x-ratelimit-", "anthropic-ratelimit-")) or low in (
            "retry-after",
            "retry-after-ms",
        ):
            out[low] = value
    return out


def parse_duration(text: str) -> timedelta | None:
    """OpenAI's reset durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`; a bare number is seconds."""
    text = text.strip()
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return timedelta(seconds=sum(float(n) * scale[u] for n, u in parts))


def _parse_time(text: str, now: datetime) -> datetime | None:
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        # epoch seconds (unified windows) vs. a small count of seconds from now
        return datetime.fromtimestamp(number, UTC) if number > 10**9 else now + timedelta(seconds=number)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        delta = parse_duration(text)
        return now + delta if delta is not None else None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


def parse_quota_headers(
    provider: str,
    headers: Mapping[str, str],
    *,
    now: datetime | None = None,
    model: str | None = None,
    status_code: int | None = None,
    account: str | None = None,
) -> QuotaSnapshot | None:
    """A snapshot from a response's headers, or None when they carry no rate-limit information (a 429
    without any such header still gives a snapshot: the provider refused the call)."""
    raw = ratelimit_headers(headers)
    if not raw and status_code != 429:
        return None
    at = now or default_now()
    fields: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if match := _OPENAI.match(name):
            kind, window = match.groups()
            slot = fields.setdefault(window, {})
            if kind == "reset":
                delta = parse_duration(value)
                slot["reset_at"] = at + delta if delta is not None else _parse_time(value, at)
            else:
                slot[kind] = _int(value)
        elif match := _ANTHROPIC.match(name):
            window, kind = match.groups()
            slot = fields.setdefault(window, {})
            if kind == "reset":
                slot["reset_at"] = _parse_time(value, at)
            elif kind == "utilization":
                with contextlib.suppress(ValueError):
                    slot["utilization"] = float(value)
            elif kind == "status":
                slot["status"] = value
            else:
                slot[kind] = _int(value)
    retry_after: float | None = None
    if "retry-after-ms" in raw:
        with contextlib.suppress(ValueError):
            retry_after = float(raw["retry-after-ms"]) / 1000
    elif "retry-after" in raw:
        try:
            retry_after = float(raw["retry-after"])
        except ValueError:
            reset = _parse_time(raw["retry-after"], at)
            retry_after = (reset - at).total_seconds() if reset else None
    windows = {name: QuotaWindow(name=name, **values) for name, values in fields.items()}
    return QuotaSnapshot(
        provider=provider,
        observed_at=at,
        windows=windows,
        model=model,
        status_code=status_code,
        retry_after=retry_after,
        headers=raw,
        account=account or DEFAULT_ACCOUNT,
    )
