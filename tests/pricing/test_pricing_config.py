"""The `pricing:` section: exact amounts, strict keys, errors that name the entry at fault."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from costwarden.pricing.config import PricingConfig
from costwarden.pricing.overrides import ModelPriceOverride

D = Decimal


def _error(config: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(pydantic.ValidationError) as info:
        PricingConfig.model_validate(config)
    return dict(info.value.errors()[0])


def test_floats_become_exact_decimals() -> None:
    config = PricingConfig.model_validate({"overrides": [{"model": "m", "input": 0.1, "cache_read": 1e-05}]})
    assert config.overrides[0].input == D("0.1")
    assert config.overrides[0].cache_read == D("0.00001")


def test_defaults() -> None:
    config = PricingConfig()
    assert (config.fallback.input, config.fallback.output, config.fallback_enabled) == (D(15), D(75), True)
    assert [p.provider for p in config.local_providers] == ["ollama", "lmstudio", "llamacpp"]


def test_negative_price_is_refused() -> None:
    error = _error({"custom_models": [{"provider": "p", "model": "m", "input": -1, "output": 1}]})
    assert error["loc"] == ("custom_models", 0, "input")
    assert error["msg"] == "Value error, expected a non-negative amount, got -1"


@pytest.mark.parametrize("bad", ["nan", "inf", True, "abc"])
def test_non_amounts_are_refused(bad: object) -> None:
    error = _error({"fallback": {"input": bad}})
    assert error["loc"] == ("fallback", "input")


def test_unknown_key_is_refused() -> None:
    error = _error({"overrides": [{"model": "gpt-5", "inptu": 1}]})
    assert (error["type"], error["loc"]) == ("extra_forbidden", ("overrides", 0, "inptu"))
    assert _error({"fallbacks": {}})["type"] == "extra_forbidden"


def test_override_needs_a_rate_and_a_proper_date() -> None:
    assert _error({"overrides": [{"model": "gpt-5"}]})["msg"] == (
        "Value error, override of 'gpt-5' sets no rate (give input, output, ...)"
    )
    bad_date = _error({"overrides": [{"model": "gpt-5", "input": 1, "effective_from": "June"}]})
    assert bad_date["msg"] == "Value error, expected a date such as 2026-06-01, got 'June'"
    moment = datetime(2026, 6, 1, tzinfo=UTC)
    assert (
        "date and time"
        in _error({"overrides": [{"model": "m", "input": 1, "effective_from": moment}]})["msg"]
    )
    ok = ModelPriceOverride.model_validate({"model": "m", "input": 1, "effective_from": "2026-06-01"})
    assert ok.effective_from == date(2026, 6, 1)


def test_duplicates_are_refused() -> None:
    twice = [{"model": "gpt-5", "input": 1}, {"model": "GPT-5", "input": 2}]
    assert _error({"overrides": twice})["msg"] == "Value error, model 'GPT-5' is overridden twice"
    custom = [{"provider": "p", "model": "m", "input": 1, "output": 1}] * 2
    assert _error({"custom_models": custom})["msg"] == "Value error, custom model p/m is defined twice"
    local = [{"provider": "ollama"}, {"provider": "Ollama"}]
    assert _error({"local_providers": local})["msg"] == "Value error, local provider 'Ollama' is listed twice"


def test_custom_model_needs_input_and_output_and_sane_tiers() -> None:
    error = _error({"custom_models": [{"provider": "p", "model": "m", "input": 1}]})
    assert (error["type"], error["loc"]) == ("missing", ("custom_models", 0, "output"))
    tiers = [{"above_input_tokens": 10, "input": 2}, {"above_input_tokens": 10, "input": 3}]
    error = _error(
        {"custom_models": [{"provider": "p", "model": "m", "input": 1, "output": 1, "tiers": tiers}]}
    )
    assert error["msg"] == "Value error, two tiers start above 10 input tokens"
    dated = [{"effective_from": "2026-01-01", "input": 1, "output": 1}] * 2
    error = _error(
        {"custom_models": [{"provider": "p", "model": "m", "input": 1, "output": 1, "prices_from": dated}]}
    )
    assert error["msg"] == "Value error, two price sets have the same effective_from date"
