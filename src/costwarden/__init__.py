"""costwarden: know what every LLM call of an agent fleet costs, keep spend inside budgets, see where the
money goes.

    from costwarden import Warden
    with Warden.from_config() as warden:
        warden.record(provider="openai", model="gpt-5", input_tokens=1000, output_tokens=200)
"""

from importlib.metadata import PackageNotFoundError, version

from costwarden.config import Settings, load_settings
from costwarden.context import current_attribution
from costwarden.core.calls import Admission, CallRequest, Decision
from costwarden.core.money import format_usd
from costwarden.core.price_rates import ModelRates
from costwarden.core.pricing import PriceBook, PricingConfig
from costwarden.core.tiers import CostTierDefinition, TierBook, TiersConfig
from costwarden.core.usage import (
    Attribution,
    CostBreakdown,
    CostSource,
    EventSource,
    EventStatus,
    Usage,
    UsageEvent,
)
from costwarden.errors import (
    BudgetExceeded,
    ConfigError,
    CostwardenError,
    LedgerError,
    MissingExtraError,
    PricingError,
    QueueTimeout,
    RunTerminated,
    ValidationError,
)
from costwarden.ledger.base import AppendOutcome, EventQuery, Ledger, Totals
from costwarden.ledger.memory import MemoryLedger
from costwarden.warden import Warden

try:
    __version__ = version("costwarden")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = [
    "Admission",
    "AppendOutcome",
    "Attribution",
    "BudgetExceeded",
    "CallRequest",
    "ConfigError",
    "CostBreakdown",
    "CostSource",
    "CostTierDefinition",
    "CostwardenError",
    "Decision",
    "EventQuery",
    "EventSource",
    "EventStatus",
    "Ledger",
    "LedgerError",
    "MemoryLedger",
    "MissingExtraError",
    "ModelRates",
    "PriceBook",
    "PricingConfig",
    "PricingError",
    "QueueTimeout",
    "RunTerminated",
    "Settings",
    "TierBook",
    "TiersConfig",
    "Totals",
    "Usage",
    "UsageEvent",
    "ValidationError",
    "Warden",
    "__version__",
    "current_attribution",
    "format_usd",
    "load_settings",
]
