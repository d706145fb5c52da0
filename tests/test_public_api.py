"""The public surface is deliberate: adding or removing a name must change this test."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

import costwarden

EXPECTED = {
    # the facade
    "Warden",
    "CallRequest",
    "Admission",
    "Decision",
    "current_attribution",
    # events
    "UsageEvent",
    "Usage",
    "Attribution",
    "CostBreakdown",
    "CostSource",
    "EventSource",
    "EventStatus",
    # errors
    "CostwardenError",
    "BudgetExceeded",
    "AdmissionTokenError",
    "QueueTimeout",
    "QuotaExhausted",
    "RunTerminated",
    "ConfigError",
    "ValidationError",
    "LedgerError",
    "PricingError",
    "MissingExtraError",
    # configuration
    "Settings",
    "load_settings",
    "PricingConfig",
    "TiersConfig",
    "CostTierDefinition",
    "__version__",
}


def test_all_is_pinned() -> None:
    assert set(costwarden.__all__) == EXPECTED
    assert costwarden.__all__ == sorted(costwarden.__all__)
    assert len(costwarden.__all__) == len(EXPECTED)  # no name listed twice


def test_the_namespace_is_exactly_all() -> None:
    """What `dir(costwarden)` offers beyond module attributes is `__all__`, and every name resolves to
    the object of the module it lives in (nothing else is reachable from the root)."""
    public = {
        name
        for name in dir(costwarden)
        if not name.startswith("_") and not isinstance(getattr(costwarden, name), types.ModuleType)
    } - {"annotations", "TYPE_CHECKING", "Any"}  # the module's own imports
    assert public == EXPECTED - {"__version__"}
    for name in sorted(EXPECTED - {"__version__"}):
        module = importlib.import_module(costwarden._LAZY[name])
        assert getattr(costwarden, name) is getattr(module, name), name
    with pytest.raises(AttributeError):
        costwarden.PriceBook  # noqa: B018 - importable from costwarden.pricing.book, not the root


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
