"""Cost tiers: built-ins, user changes, validation and classification by blended price."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from costwarden.pricing.book import PriceBook
from costwarden.pricing.config import PricingConfig
from costwarden.pricing.tiers import (
    BUILTIN_TIERS,
    CostTierDefinition,
    TierBook,
    TiersConfig,
    check_tiers,
    classify,
    merge_tiers,
)

D = Decimal
AT = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(scope="module")
def pricebook() -> PriceBook:
    return PriceBook()


def _tiers(**config: Any) -> TierBook:
    return TierBook(TiersConfig.model_validate(config))


def _error(config: dict[str, Any]) -> str:
    with pytest.raises(pydantic.ValidationError) as info:
        TiersConfig.model_validate(config)
    return str(info.value.errors()[0]["msg"]).removeprefix("Value error, ")


def test_builtins() -> None:
    book = TierBook()
    assert [t.id for t in book.all()] == ["low", "medium", "high", "premium"]
    ranges = [(t.price_range_min, t.price_range_max) for t in book.all()]
    assert ranges == [(D(0), D(1)), (D(1), D(5)), (D(5), D(15)), (D(15), None)]
    premium = book["premium"]
    assert (premium.display_name, premium.icon, premium.color) == ("Premium", "$$$$", "#c62828")
    assert premium.describe_range() == "$15 and up per MTok"
    assert book.get("medium") is not None
    assert book.get("nope") is None
    assert "low" in book
    assert merge_tiers() == BUILTIN_TIERS


@pytest.mark.parametrize(
    ("price", "tier"),
    [
        (D(0), "low"),
        (D("0.9999"), "low"),
        (D(1), "medium"),  # lower bound inclusive, upper exclusive
        (D("4.99"), "medium"),
        (D(5), "high"),
        (D(15), "premium"),
        (D(1000), "premium"),
    ],
)
def test_classify_price(price: Decimal, tier: str) -> None:
    assert classify(price) == tier
    assert TierBook().classify(price) == tier


@pytest.mark.parametrize(
    ("provider", "model", "blended", "tier"),
    [
        ("openai", "gpt-5-mini", D("0.6875"), "low"),  # (3 * 0.25 + 2) / 4
        ("anthropic", "claude-haiku-4-5", D(2), "medium"),  # (3 * 1 + 5) / 4
        ("openai", "gpt-5", D("3.4375"), "medium"),  # (3 * 1.25 + 10) / 4
        ("anthropic", "claude-sonnet-4-5", D(6), "high"),  # (3 * 3 + 15) / 4
        ("anthropic", "claude-opus-4-1", D(30), "premium"),  # (3 * 15 + 75) / 4
    ],
)
def test_models_by_blended_price(
    pricebook: PriceBook, provider: str, model: str, blended: D, tier: str
) -> None:
    book = TierBook()
    rates = pricebook.rates(provider, model, AT)
    assert rates is not None
    assert book.blended_price(rates) == blended
    assert book.classify(rates) == tier
    assert book.tier_for_model(pricebook, provider, model, AT) == tier


def test_unknown_model_has_no_tier(pricebook: PriceBook) -> None:
    assert TierBook().tier_for_model(pricebook, "acme", "mystery") is None


def test_blend_weights_are_configurable(pricebook: PriceBook) -> None:
    rates = pricebook.rates("anthropic", "claude-sonnet-4-5", AT)
    assert rates is not None
    output_heavy = _tiers(blend={"input": 1, "output": 1})
    assert output_heavy.blended_price(rates) == D(9)
    assert output_heavy.classify(rates) == "high"
    assert _tiers(blend={"input": 1, "output": 0}).classify(rates) == "medium"  # $3 input only


def test_custom_model_is_classified(pricebook: PriceBook) -> None:
    config = PricingConfig.model_validate(
        {"custom_models": [{"provider": "a", "model": "m", "input": 40, "output": 80}]}
    )
    assert TierBook().tier_for_model(PriceBook(config), "a", "m") == "premium"


def test_partial_change_of_a_builtin() -> None:
    book = _tiers(
        definitions=[
            {"id": "low", "display_name": "Cheap", "price_range_max": 0.5},
            {"id": "medium", "price_range_min": 0.5},
        ]
    )
    low, medium = book["low"], book["medium"]
    assert (low.display_name, low.price_range_max, low.icon, low.color) == ("Cheap", D("0.5"), "$", "#2e7d32")
    assert (medium.display_name, medium.price_range_min, medium.price_range_max) == ("Medium", D("0.5"), D(5))
    assert book.classify(D("0.7")) == "medium"


def test_add_and_remove() -> None:
    book = _tiers(
        remove=["premium"],
        definitions=[
            {"id": "ultra", "price_range_min": 50, "color": "magenta", "icon": "!"},
            {
                "id": "premium-lite",
                "price_range_min": 15,
                "price_range_max": 50,
                "display_name": "Premium lite",
            },
        ],
    )
    assert [t.id for t in book.all()] == ["low", "medium", "high", "premium-lite", "ultra"]
    assert book["ultra"].display_name == "Ultra"
    assert book["ultra"].price_range_max is None
    assert book.get("premium") is None
    assert book.classify(D(20)) == "premium-lite"
    assert book.classify(D(60)) == "ultra"


def test_open_ended_change() -> None:
    book = _tiers(remove=["premium"], definitions=[{"id": "high", "price_range_max": None}])
    assert book["high"].price_range_max is None
    assert book.classify(D(100)) == "high"


def test_gaps_go_to_the_tier_below() -> None:
    book = _tiers(remove=["low", "high"])  # left: medium [1, 5), premium [15, ...)
    assert book.classify(D("0.5")) == "medium"  # below all: the lowest tier
    assert book.classify(D(10)) == "medium"  # in the gap: the tier below
    assert book.classify(D(15)) == "premium"


def test_overlap_names_both_tiers() -> None:
    message = _error({"definitions": [{"id": "mid", "price_range_min": 3, "price_range_max": 8}]})
    assert message == "tiers 'medium' ($1 to $5 per MTok) and 'mid' ($3 to $8 per MTok) overlap"
    widened = _error({"definitions": [{"id": "medium", "price_range_max": 6}]})
    assert widened == "tiers 'medium' ($1 to $6 per MTok) and 'high' ($5 to $15 per MTok) overlap"


def test_min_above_max() -> None:
    message = _error({"definitions": [{"id": "low", "price_range_min": 2}]})
    assert message == "tier 'low': price_range_min (2) is above price_range_max (1)"
    with pytest.raises(pydantic.ValidationError, match="price_range_min"):
        CostTierDefinition(id="x", display_name="X", price_range_min=D(3), price_range_max=D(2))


def test_bad_configs() -> None:
    assert _error(
        {"definitions": [{"id": "a", "price_range_min": 100}, {"id": "a", "price_range_min": 200}]}
    ) == ("tier 'a' is defined twice")
    assert _error({"remove": ["cheap"]}) == (
        "cannot remove unknown tier 'cheap' (built-in tiers: high, low, medium, premium)"
    )
    assert _error({"definitions": [{"id": "ultra"}]}) == "new tier 'ultra' needs price_range_min"
    assert (
        _error({"remove": ["low", "medium", "high", "premium"]})
        == "no tiers left: keep or define at least one"
    )
    assert _error({"blend": {"input": 0, "output": 0}}) == "blend weights cannot both be 0"
    negative = {"definitions": [{"id": "low", "price_range_max": -1}]}
    assert _error(negative) == "expected a non-negative amount, got -1"
    with pytest.raises(pydantic.ValidationError) as info:
        TiersConfig.model_validate({"definitions": [{"id": "low", "colour": "red"}]})
    assert info.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(pydantic.ValidationError):
        TiersConfig.model_validate({"definitions": [{"id": "Has Spaces", "price_range_min": 100}]})


def test_check_tiers_directly() -> None:
    a = CostTierDefinition(id="a", display_name="A", price_range_min=D(0), price_range_max=D(2))
    b = CostTierDefinition(id="b", display_name="B", price_range_min=D(2))
    assert check_tiers([b, a]) == (a, b)
    empty = CostTierDefinition(id="e", display_name="E", price_range_min=D(1), price_range_max=D(1))
    assert check_tiers([a, b, empty])[0] == a  # an empty range overlaps nothing
    with pytest.raises(ValueError, match="'a'"):
        check_tiers([a, CostTierDefinition(id="c", display_name="C", price_range_min=D(1))])


def test_yaml_example() -> None:
    import yaml

    text = """
tiers:
  blend: {input: 3, output: 1}
  remove: [premium]
  definitions:
    - id: high
      price_range_max: null
    - id: free
      display_name: Free
      price_range_min: 0
      price_range_max: 0.01
    - id: low
      price_range_min: 0.01
"""
    book = TierBook(TiersConfig.model_validate(yaml.safe_load(text)["tiers"]))
    assert [t.id for t in book.all()] == ["free", "low", "medium", "high"]
    assert book.classify(D("0.005")) == "free"
