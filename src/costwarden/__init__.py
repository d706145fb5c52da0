"""costwarden: know what every LLM call of an agent fleet costs, keep spend inside budgets, see where the
money goes.

    from costwarden import Warden
    with Warden.from_config() as warden:
        warden.record(provider="openai", model="gpt-5", input_tokens=1000, output_tokens=200)

The root holds the facade (`Warden`, its requests and admissions), the events, the errors and the
configuration types; everything else is imported from its own module (`costwarden.ledger`,
`costwarden.pricing`, `costwarden.budgets`, ...).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing alone costs more than this module
if TYPE_CHECKING:
    from typing import Any

    from costwarden.config import Settings, load_settings
    from costwarden.context import current_attribution
    from costwarden.core.calls import Admission, CallRequest, Decision
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
        AdmissionTokenError,
        BudgetExceeded,
        ConfigError,
        CostwardenError,
        LedgerError,
        MissingExtraError,
        PricingError,
        QueueTimeout,
        QuotaExhausted,
        RunTerminated,
        ValidationError,
    )
    from costwarden.pricing.config import PricingConfig
    from costwarden.pricing.tiers import CostTierDefinition, TiersConfig
    from costwarden.warden import Warden

    __version__: str

_LAZY: dict[str, str] = {
    "Settings": "costwarden.config",
    "load_settings": "costwarden.config",
    "current_attribution": "costwarden.context",
    "Admission": "costwarden.core.calls",
    "CallRequest": "costwarden.core.calls",
    "Decision": "costwarden.core.calls",
    "PricingConfig": "costwarden.pricing.config",
    "CostTierDefinition": "costwarden.pricing.tiers",
    "TiersConfig": "costwarden.pricing.tiers",
    "Attribution": "costwarden.core.usage",
    "CostBreakdown": "costwarden.core.usage",
    "CostSource": "costwarden.core.usage",
    "EventSource": "costwarden.core.usage",
    "EventStatus": "costwarden.core.usage",
    "Usage": "costwarden.core.usage",
    "UsageEvent": "costwarden.core.usage",
    "AdmissionTokenError": "costwarden.errors",
    "BudgetExceeded": "costwarden.errors",
    "ConfigError": "costwarden.errors",
    "CostwardenError": "costwarden.errors",
    "LedgerError": "costwarden.errors",
    "MissingExtraError": "costwarden.errors",
    "PricingError": "costwarden.errors",
    "QueueTimeout": "costwarden.errors",
    "QuotaExhausted": "costwarden.errors",
    "RunTerminated": "costwarden.errors",
    "ValidationError": "costwarden.errors",
    "Warden": "costwarden.warden",
}
"""Each public name -> the module it lives in; loaded on first use (PEP 562), so `import costwarden`
stays fast."""


def __getattr__(name: str) -> Any:
    value: Any
    if name == "__version__":
        from costwarden._version import __version__ as value
    elif name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'costwarden' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Admission",
    "AdmissionTokenError",
    "Attribution",
    "BudgetExceeded",
    "CallRequest",
    "ConfigError",
    "CostBreakdown",
    "CostSource",
    "CostTierDefinition",
    "CostwardenError",
    "Decision",
    "EventSource",
    "EventStatus",
    "LedgerError",
    "MissingExtraError",
    "PricingConfig",
    "PricingError",
    "QueueTimeout",
    "QuotaExhausted",
    "RunTerminated",
    "Settings",
    "TiersConfig",
    "Usage",
    "UsageEvent",
    "ValidationError",
    "Warden",
    "__version__",
    "current_attribution",
    "load_settings",
]
