"""Prices and cost tiers as views: the JSON `costwarden prices show|check` and `costwarden tiers list` print
is the view's `to_json()`, and the figures are the price book's."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from costwarden.cli import main
from costwarden.core.usage import UsageEvent
from costwarden.views.prices import PriceQuery, model_and_provider, price_check, price_view
from costwarden.views.tiers import tier_of, tiers_view

from .conftest import World


def test_a_model_s_prices(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    result = price_view(world.warden, PriceQuery("anthropic/claude-sonnet-4-5"))
    assert result is not None
    assert (result.rates.provider, result.rates.model) == ("anthropic", "claude-sonnet-4-5")
    assert result.to_json()["input"] == "3.00" and result.to_json()["output"] == "15.00"
    assert result.cost_tier == world.warden.tiers.classify(result.rates)
    printed = world.cli(capsys, "prices", "show", "anthropic/claude-sonnet-4-5", "--json")
    assert json.loads(printed) == result.to_json()
    assert printed == json.dumps(result.to_json(), indent=2) + "\n"


def test_an_unknown_model_has_no_prices(world: World) -> None:
    assert price_view(world.warden, PriceQuery("no-such-model", provider="nobody")) is None
    assert tier_of(world.warden, "nobody/no-such-model") is None


def test_model_and_provider() -> None:
    assert model_and_provider("openai/gpt-5", None) == ("openai", "gpt-5")
    assert model_and_provider("openai/gpt-5", "azure") == ("azure", "openai/gpt-5")
    assert model_and_provider("gpt-5", None) == (None, "gpt-5")


def test_the_ledger_s_unpriced_models(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.warden.record(
        UsageEvent.create(
            provider="acme", model="mystery-1", input_tokens=1000, occurred_at=world.warden.clock.now()
        )
    )
    result = price_check(world.warden)
    [row] = [r for r in result.rows if r.model == "mystery-1"]
    assert (row.status, row.recorded_as, row.events, row.unpriced) == ("unpriced", "unpriced", 1, True)
    assert row.cost > Decimal(0)  # the fallback price, never a silent $0
    assert result.to_json()["unpriced"] == len(result.unpriced) >= 1
    code = main(["--db", world.url, "--config", str(world.config), "prices", "check", "--json"])
    assert code == 1  # an unpriced model: the check fails
    assert capsys.readouterr().out == json.dumps(result.to_json(), indent=2) + "\n"


def test_tiers(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    result = tiers_view(world.warden)
    assert [t["id"] for t in result.to_json()][:4] == ["low", "medium", "high", "premium"]
    assert world.cli(capsys, "tiers", "list", "--json") == json.dumps(result.to_json(), indent=2) + "\n"
    found = tier_of(world.warden, "claude-sonnet-4-5", "anthropic")
    assert found is not None and found.tier == world.warden.tiers.classify(found.rates)
    assert world.cli(capsys, "tiers", "classify", "anthropic/claude-sonnet-4-5").startswith(
        f"anthropic/claude-sonnet-4-5: {found.tier} (blended ${found.blended.normalize():f}"
    )
