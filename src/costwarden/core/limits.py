"""The ranges every value must fall in before costwarden accepts it (the CLI, the config file, the Python
API and the importers all check against these, so no stored value can break a later process).

- a token count of one event field: 0 .. 10^12 (sums of millions of such events stay under 2^63);
- a token or request limit of a budget: 0 .. 10^15 (compared against sums as 64-bit integers);
- an amount of money (limits, prices, provider costs): 0 .. $100,000,000 (10^18 storage units, so spent +
  reserved + limit stay under 2^63);
- a date or time (events, `--at`, `--from`, `--to`): 2000-01-01 .. 2099-12-31 UTC (anything else is a typing
  mistake, and reports walk the periods in between);
- a duration (rolling windows, timeouts, lifetimes): up to 366 days (a longer window is `period: total`);
- a config file: up to 1 MiB, nested up to 64 levels (a config is a few kilobytes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

__all__ = [
    "MAX_TOKENS",
    "MAX_BUDGET_COUNT",
    "MAX_USD",
    "MIN_DATE",
    "MAX_DATE",
    "MAX_DURATION_SECONDS",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "date_in_range",
    "date_range_message",
]

MAX_TOKENS: Final = 10**12
"""The largest token count (or request count) one event field may hold."""
MAX_BUDGET_COUNT: Final = 10**15
"""The largest token or request limit of a budget."""
MAX_USD: Final = Decimal(100_000_000)
"""The largest amount of money accepted anywhere (a limit, a price, a provider-reported cost)."""
MIN_DATE: Final = datetime(2000, 1, 1, tzinfo=UTC)
"""The earliest time accepted (inclusive)."""
MAX_DATE: Final = datetime(2100, 1, 1, tzinfo=UTC)
"""The first time no longer accepted (exclusive): the last accepted day is 2099-12-31."""
MAX_DURATION_SECONDS: Final = 366 * 86400.0
"""The longest duration accepted (rolling windows, timeouts, lifetimes)."""
MAX_CONFIG_BYTES: Final = 1024 * 1024
"""The largest config file read."""
MAX_CONFIG_DEPTH: Final = 64
"""The deepest nesting of mappings and lists in a config file."""


def date_in_range(at: datetime) -> bool:
    """Whether an aware datetime lies in [MIN_DATE, MAX_DATE)."""
    return MIN_DATE <= at < MAX_DATE


def date_range_message(at: object) -> str:
    """The message for a date outside the accepted range."""
    shown = at.isoformat() if isinstance(at, datetime) else repr(at)
    return f"expected a date from 2000-01-01 to 2099-12-31 (UTC), got {shown}"
