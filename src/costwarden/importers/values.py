"""Strict readers for the values of one log line: JSON, token counts, timestamps, storable text.

Every reader raises `Malformed` (naming the field) for a value the ledger must not take: a token count that
is not a whole number in `0..MAX_TOKENS`, a timestamp outside the supported dates, JSON nested too deeply
for the parser, text PostgreSQL or UTF-8 cannot hold (NUL, lone surrogates). The line is then skipped and
counted; the import goes on.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from costwarden.core.limits import MAX_TOKENS, MAX_USD, date_in_range, date_range_message
from costwarden.core.usage import ATTRIBUTION_FIELDS, UsageEvent

__all__ = [
    "Malformed",
    "load_object",
    "check_tokens",
    "check_instant",
    "tokens",
    "amount",
    "timestamp",
    "check_text",
    "check_storable",
]


class Malformed(ValueError):
    """A line that cannot be read as a record of the log format (skipped and counted)."""


def load_object(line: bytes) -> dict[str, Any]:
    """The JSON object of one line. orjson reads it; whatever orjson refuses (invalid JSON, but also what
    the standard parser accepts: NaN, integers beyond 64 bits, lone surrogates) is read by the standard
    parser, so a line is taken or refused, and its values are, exactly as `json.loads` does."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = _standard_load(line)
    if not isinstance(record, dict):
        raise Malformed("not a JSON object")
    return record


def _standard_load(line: bytes) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise Malformed(f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise Malformed("JSON nested too deeply") from None
    except ValueError:  # invalid UTF-8 and the like
        raise Malformed("invalid JSON (not UTF-8 text)") from None


def check_tokens(value: object, field: str) -> int:
    """A token count as an int in `0..MAX_TOKENS` (10^12). Whole floats (`12.0`) are accepted; booleans,
    strings, NaN, infinities, fractions and negatives are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{field}: expected a whole number of tokens, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise Malformed(f"{field}: expected a whole number of tokens, got {value!r}")
        value = int(value)
    if value < 0:
        raise Malformed(f"{field}: expected a non-negative token count, got {value}")
    if value > MAX_TOKENS:
        raise Malformed(f"{field}: {value} tokens is above the ceiling of {MAX_TOKENS:,}")
    return int(value)


def check_instant(at: datetime, field: str) -> datetime:
    """An aware datetime, in UTC, within the accepted dates (`costwarden.core.limits`)."""
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        raise Malformed(f"{field}: {date_range_message(at)}") from None
    if not date_in_range(utc):
        raise Malformed(f"{field}: {date_range_message(utc)}")
    return utc


def amount(value: object, field: str) -> Decimal | None:
    """A non-negative amount of USD up to `MAX_USD` (None when absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise Malformed(f"{field}: expected a non-negative amount, got {value!r}")
    result = Decimal(str(value))
    if result > MAX_USD:
        raise Malformed(f"{field}: expected at most ${MAX_USD:,}, got {value!r}")
    return result


def tokens(block: object, *path: str) -> int:
    """The token count at `path` inside `block`: 0 when absent or null, else a whole number in range."""
    value = block
    for name in path:
        if value is None:
            return 0
        if not isinstance(value, dict):
            raise Malformed(f"{'.'.join(path)}: expected an object on the way, got {type(value).__name__}")
        value = value.get(name)
    if value is None:
        return 0
    return check_tokens(value, ".".join(path))


def timestamp(value: object, *, assume_utc: bool = False, field: str = "timestamp") -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime within the supported dates.

    A timestamp without a zone is refused, or read as UTC with `assume_utc`."""
    if not isinstance(value, str):
        raise Malformed(f"missing {field}")
    return _instant(value, assume_utc, field)


@functools.lru_cache(maxsize=4096)
def _instant(value: str, assume_utc: bool, field: str) -> datetime:
    """`timestamp` of a string, remembered (a streamed message's lines share their timestamps; a refused
    one raises each time)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Malformed(f"bad {field} {value[:64]!r}") from None
    if parsed.tzinfo is None:
        if not assume_utc:
            raise Malformed(f"{field} without a zone {value[:64]!r}")
        parsed = parsed.replace(tzinfo=UTC)
    return check_instant(parsed, field)


_STORABLE: set[str] = set()
"""Texts already found storable (projects, sessions, models and ids come back line after line)."""
_STORABLE_MAX = 1 << 16


def check_text(value: str, field: str) -> str:
    """`value` if the ledger can store it: no NUL character (PostgreSQL refuses them), valid UTF-8."""
    if value in _STORABLE:
        return value
    if "\x00" in value:
        raise Malformed(f"{field}: contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed(f"{field}: not valid Unicode text (a lone surrogate)") from None
    if len(_STORABLE) >= _STORABLE_MAX:
        _STORABLE.clear()
    _STORABLE.add(value)
    return value


def check_storable(event: UsageEvent) -> UsageEvent:
    """`event` if every text it carries can be stored and it happened within the supported dates."""
    check_text(event.id, "id")
    check_text(event.provider, "provider")
    check_text(event.model, "model")
    attribution = event.attribution
    for name in ATTRIBUTION_FIELDS:
        value = getattr(attribution, name, None)
        if isinstance(value, str):
            check_text(value, name)
    for key, value in attribution.tags.items():
        check_text(key, "tags")
        check_text(str(value), f"tags.{key}")
    if event.service_tier is not None:
        check_text(event.service_tier, "service_tier")
    check_instant(event.occurred_at, "occurred_at")
    return event
