"""Resolved rates and the exact integer arithmetic that prices a `Usage` with them."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from costwarden.core.money import from_units, to_units
from costwarden.core.usage import Usage
from costwarden.pricing.book import PriceBook
from costwarden.pricing.config import PricingConfig
from costwarden.pricing.rates import SLICE_NAMES

D = Decimal
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_total_is_the_once_rounded_sum_of_exact_slices() -> None:
    book = PriceBook()
    rng = random.Random(7)
    models = [
        ("anthropic", "claude-sonnet-4-5"),
        ("openai", "gpt-5-mini"),
        ("deepseek", "deepseek-chat"),
        ("x", "y"),
    ]
    for _ in range(500):
        output = rng.randrange(0, 50_000)
        usage = Usage(
            input_tokens=rng.randrange(0, 300_000),
            cache_read_tokens=rng.randrange(0, 100_000),
            cache_write_tokens=rng.randrange(0, 10_000),
            cache_write_1h_tokens=rng.randrange(0, 10_000),
            output_tokens=output,
            reasoning_tokens=rng.randrange(0, output + 1),
            web_search_requests=rng.randrange(0, 3),
        )
        provider, model = rng.choice(models)
        at = AT - timedelta(minutes=rng.randrange(0, 60 * 24 * 900))
        cost = book.price_usage(provider, model, usage, at)
        exact = sum(cost.slices.values(), D(0))
        assert cost.total == from_units(to_units(exact))
        assert set(cost.slices) == set(SLICE_NAMES)


def test_rounding_is_half_even_at_the_storage_unit() -> None:
    # $0.00005 per MTok -> 1 token = 5e-11 USD = half a unit: rounds to even (0), 3 tokens = 1.5 units -> 2
    config = PricingConfig.model_validate(
        {"custom_models": [{"provider": "p", "model": "m", "input": "0.00005", "output": 0}]}
    )
    book = PriceBook(config)
    assert book.price_usage("p", "m", Usage(input_tokens=1), AT).total == 0
    assert book.price_usage("p", "m", Usage(input_tokens=3), AT).total == D("2E-10")
    assert book.price_usage("p", "m", Usage(input_tokens=3), AT).slices["input"] == D("1.5E-10")


def test_slices_behave_like_a_dict() -> None:
    cost = PriceBook().price_usage("openai", "gpt-5", Usage(input_tokens=1_000), AT)
    assert cost.slices == {name: (D("0.00125") if name == "input" else D(0)) for name in SLICE_NAMES}
    assert pickle.loads(pickle.dumps(cost)) == cost
    assert "input" in cost.slices
    assert len(cost.slices) == len(SLICE_NAMES)
