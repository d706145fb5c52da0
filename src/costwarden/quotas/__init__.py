"""Subscriptions, quotas and rate limits: plans in config, readings from every source kept as a time
series per provider + account, and what is used of each plan's windows. See docs/quotas.md.

- `plans`: the `subscriptions:` config section (`SubscriptionConfig`, `WindowConfig`); `presets`: built-in
  plans and where their numbers come from; `resets`: rolling and fixed (daily / weekly / monthly) windows;
- `headers`: rate-limit headers of a response -> a snapshot (the passive source);
- `tracker`: `Quotas`, where every source's snapshots are kept (`warden.quotas`);
- `usage`: each plan window's use, limit, reset and pace at one moment.
"""

from costwarden.quotas.headers import parse_duration, parse_quota_headers, ratelimit_headers
from costwarden.quotas.plans import SubscriptionConfig, WindowConfig
from costwarden.quotas.resets import ResetRule, parse_reset
from costwarden.quotas.tracker import Quotas
from costwarden.storage.quotas import QuotaReading, QuotaSnapshot, QuotaWindow

__all__ = [
    "Quotas",
    "QuotaReading",
    "QuotaSnapshot",
    "QuotaWindow",
    "ResetRule",
    "SubscriptionConfig",
    "WindowConfig",
    "parse_duration",
    "parse_quota_headers",
    "parse_reset",
    "ratelimit_headers",
]
