"""The public surface is deliberate: adding or removing a name must change this test."""

from __future__ import annotations

import subprocess
import sys

import costwarden

EXPECTED = {
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
}


def test_all_is_pinned() -> None:
    assert set(costwarden.__all__) == EXPECTED
    assert costwarden.__all__ == sorted(costwarden.__all__)
    assert len(costwarden.__all__) == len(EXPECTED)  # no name listed twice


def test_every_name_exists() -> None:
    for name in costwarden.__all__:
        assert getattr(costwarden, name) is not None


def test_import_builds_nothing_and_loads_no_optional_sdk() -> None:
    code = (
        "import sys, costwarden\n"
        "heavy = [m for m in ('openai', 'anthropic', 'litellm', 'redis', 'psycopg', 'httpx2', 'genai_prices',"
        " 'fastapi') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_missing_extra_names_install_command() -> None:
    err = costwarden.MissingExtraError("psycopg", "postgres")
    assert str(err) == "psycopg is not installed; install it with: pip install 'costwarden[postgres]'"
