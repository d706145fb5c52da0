"""The price book against the providers' published prices, and against genai-prices' own arithmetic.

Expected amounts are written out by hand from the published per-million-token prices, e.g. Claude
Sonnet 4.5: $3 input, $15 output, $0.30 cache read, $3.75 5-minute and $6 1-hour cache write; above 200k
input tokens $6 / $22.50 / $0.60 / $7.50 / $12.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from costwarden.core.money import from_units, to_units
from costwarden.core.usage import CostBreakdown, CostSource, Usage, UsageEvent
from costwarden.errors import ValidationError
from costwarden.pricing import book as book_module
from costwarden.pricing.book import PriceBook
from costwarden.pricing.config import CustomModel, PricingConfig

D = Decimal
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
VERSION = "genai-prices 0.2.3"


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def _cost(
    book: PriceBook, provider: str, model: str, at: datetime = AT, tier: str | None = None, **tokens: int
) -> CostBreakdown:
    return book.price_usage(provider, model, Usage(**tokens), at, service_tier=tier)


# -- published prices ------------------------------------------------------------------------------------


def test_sonnet_45_every_slice(book: PriceBook) -> None:
    cost = _cost(
        book,
        "anthropic",
        "claude-sonnet-4-5",
        input_tokens=10_000,  # $3/MTok -> 0.03
        cache_read_tokens=20_000,  # $0.30 -> 0.006
        cache_write_tokens=4_000,  # $3.75 -> 0.015
        cache_write_1h_tokens=2_000,  # $6 -> 0.012
        output_tokens=3_000,  # $15 -> 0.045 (reasoning included)
        reasoning_tokens=1_000,
    )
    assert cost.source is CostSource.COMPUTED
    assert cost.total == D("0.108")
    assert cost.slices["input"] == D("0.03")
    assert cost.slices["cache_read"] == D("0.006")
    assert cost.slices["cache_write"] == D("0.015")
    assert cost.slices["cache_write_1h"] == D("0.012")
    assert cost.slices["output"] == D("0.045")
    assert cost.slices["web_search"] == 0
    assert cost.price_ref == f"{VERSION}: anthropic/claude-sonnet-4-5"


def test_sonnet_45_long_context_tier_prices_all_tokens_higher(book: PriceBook) -> None:
    # 150k + 40k + 8k + 4k = 202k input tokens > 200k: every token pays the long-context rate
    cost = _cost(
        book,
        "anthropic",
        "claude-sonnet-4-5-20250929",
        input_tokens=150_000,  # $6 -> 0.9
        cache_read_tokens=40_000,  # $0.60 -> 0.024
        cache_write_tokens=8_000,  # $7.50 -> 0.06
        cache_write_1h_tokens=4_000,  # $12 -> 0.048
        output_tokens=2_000,  # $22.50 -> 0.045
    )
    assert cost.total == D("1.077")
    assert dict(cost.slices) == {
        "input": D("0.9"),
        "cache_read": D("0.024"),
        "cache_write": D("0.06"),
        "cache_write_1h": D("0.048"),
        "output": D("0.045"),
        "web_search": D(0),
        "requests": D(0),
    }


def test_long_context_cliff_is_strictly_above_the_threshold(book: PriceBook) -> None:
    at_threshold = _cost(book, "anthropic", "claude-sonnet-4-5", input_tokens=200_000, output_tokens=1_000)
    assert at_threshold.total == D("0.615")  # 200k * $3 + 1k * $15
    above = _cost(book, "anthropic", "claude-sonnet-4-5", input_tokens=200_001, output_tokens=1_000)
    assert above.total == D("1.222506")  # 200,001 * $6 + 1k * $22.50


def test_reasoning_is_output(book: PriceBook) -> None:
    cost = _cost(book, "openai", "gpt-5", input_tokens=1_000, output_tokens=10_000, reasoning_tokens=8_000)
    assert cost.total == D("0.10125")  # 1k * $1.25 + 10k * $10


def test_reasoning_priced_apart_when_the_provider_does(book: PriceBook) -> None:
    # Perplexity Sonar Deep Research: $2 input, $8 output, $3 reasoning, $5 per 1k searches
    cost = _cost(
        book,
        "perplexity",
        "sonar-deep-research",
        input_tokens=1_000,
        output_tokens=10_000,
        reasoning_tokens=6_000,
        web_search_requests=4,
    )
    assert cost.slices["output"] == D("0.05")  # 4k * $8 + 6k * $3
    assert cost.slices["web_search"] == D("0.02")
    assert cost.total == D("0.072")


def test_per_request_and_web_search_fees(book: PriceBook) -> None:
    sonar = _cost(book, "perplexity", "sonar", input_tokens=1_000, output_tokens=1_000)  # $12 per 1k requests
    assert sonar.slices["requests"] == D("0.012")
    assert sonar.total == D("0.014")
    searches = _cost(
        book, "anthropic", "claude-sonnet-4-5", input_tokens=0, web_search_requests=3
    )  # $10 / 1k
    assert searches.total == D("0.03")


def test_dated_price_change_o3_price_cut_2025_06_10(book: PriceBook) -> None:
    # OpenAI cut o3 from $10 / $40 to $2 / $8 per MTok on 2025-06-10 (genai-prices: StartDateConstraint)
    before = datetime(2025, 6, 9, 23, 59, 59, tzinfo=UTC)
    after = datetime(2025, 6, 10, 0, 0, tzinfo=UTC)
    usage = {"input_tokens": 1_000_000, "output_tokens": 100_000}
    assert _cost(book, "openai", "o3", before, **usage).total == D("14")
    cut = _cost(book, "openai", "o3", after, **usage)
    assert cut.total == D("2.8")
    assert cut.price_ref == f"{VERSION}: openai/o3 @ 2025-06-10"
    # the same instant in another zone is the same price epoch
    tokyo = after.astimezone(timezone(timedelta(hours=9)))
    assert _cost(book, "openai", "o3", tokyo, **usage).total == D("2.8")


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        (None, D("2.25")),  # $1.25 / $10
        ("default", D("2.25")),
        ("flex", D("1.125")),  # $0.625 / $5
        ("priority", D("4.5")),  # $2.50 / $20
        ("batch", D("1.125")),  # 50 %
    ],
)
def test_service_tiers_gpt_5(book: PriceBook, tier: str | None, expected: Decimal) -> None:
    cost = _cost(book, "openai", "gpt-5", AT, tier, input_tokens=1_000_000, output_tokens=100_000)
    assert cost.total == expected


def test_batch_halves_anthropic_prices(book: PriceBook) -> None:
    cost = _cost(
        book, "anthropic", "claude-sonnet-4-5", AT, "batch", input_tokens=100_000, output_tokens=10_000
    )
    assert cost.total == D("0.225")  # 100k * $1.50 + 10k * $7.50
    assert cost.price_ref == f"{VERSION}: anthropic/claude-sonnet-4-5 @ 2026-10-14 [batch]"


def test_time_of_day_prices_deepseek_off_peak(book: PriceBook) -> None:
    # DeepSeek chat: $0.27 / $1.10 (00:30-16:30 UTC), half price off-peak (16:30-00:30 UTC)
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    peak = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    off_peak = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert _cost(book, "deepseek", "deepseek-chat", peak, **usage).total == D("1.37")
    assert _cost(book, "deepseek", "deepseek-chat", off_peak, **usage).total == D("0.685")
    assert _cost(book, "deepseek", "deepseek-chat", peak.replace(hour=0, minute=29), **usage).total == D(
        "0.685"
    )
    assert _cost(book, "deepseek", "deepseek-chat", peak.replace(hour=0, minute=30), **usage).total == D(
        "1.37"
    )


def test_missing_cache_prices_pay_the_input_rate(book: PriceBook) -> None:
    # gpt-5 has no cache write price: written tokens are ordinary input ($1.25)
    cost = _cost(
        book, "openai", "gpt-5", input_tokens=0, cache_write_tokens=1_000, cache_write_1h_tokens=1_000
    )
    assert cost.total == D("0.0025")


# -- overrides, custom and local models --------------------------------------------------------------------


def _book(**config: Any) -> PriceBook:
    return PriceBook(PricingConfig.model_validate(config))


def test_override_without_date() -> None:
    book = _book(overrides=[{"model": "gpt-5", "provider": "openai", "input": 1.0, "output": 8.0}])
    cost = _cost(book, "openai", "gpt-5-2025-08-07", input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost.total == D("9")
    assert cost.price_ref == "override:gpt-5"
    rates = book.rates("openai", "gpt-5")
    assert rates is not None
    assert rates.source == "override"
    assert rates.cache_read == D("0.125")  # not overridden: the catalog's
    # provider-specific: Azure's gpt-5 keeps the catalog price
    assert _cost(book, "azure", "gpt-5", input_tokens=1_000_000).total == D("1.25")


def test_override_with_effective_date() -> None:
    book = _book(overrides=[{"model": "gpt-5", "input": 1.0, "output": 8.0, "effective_from": "2026-06-01"}])
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert _cost(book, "openai", "gpt-5", datetime(2026, 5, 31, 23, 59, tzinfo=UTC), **usage).total == D(
        "11.25"
    )
    late = _cost(book, "openai", "gpt-5", datetime(2026, 6, 1, tzinfo=UTC), **usage)
    assert late.total == D("9")
    assert late.price_ref == "override:gpt-5 from 2026-06-01"
    assert _cost(book, "azure", "gpt-5", datetime(2026, 6, 2, tzinfo=UTC), **usage).total == D(
        "9"
    )  # any provider


def test_override_of_a_tiered_rate_is_flat_unless_tiers_are_given() -> None:
    flat = _book(overrides=[{"model": "claude-sonnet-4-5", "input": 2}])
    cost = _cost(flat, "anthropic", "claude-sonnet-4-5", input_tokens=300_000, output_tokens=1_000)
    assert cost.total == D("0.6225")  # 300k * $2 (flat) + 1k * $22.50 (catalog tier)
    tiered = _book(
        overrides=[
            {
                "model": "claude-sonnet-4-5",
                "input": 2,
                "output": 10,
                "tiers": [{"above_input_tokens": 100_000, "input": 4}],
            }
        ]
    )
    assert _cost(
        tiered, "anthropic", "claude-sonnet-4-5", input_tokens=300_000, output_tokens=1_000
    ).total == D("1.21")


def test_override_prices_a_model_the_catalog_does_not_know() -> None:
    book = _book(overrides=[{"model": "in-house-7b", "input": 0.5, "output": 1.5}])
    cost = _cost(book, "vllm", "in-house-7b", input_tokens=1_000_000, output_tokens=1_000_000)
    assert (cost.total, cost.source, cost.price_ref) == (D("2"), CostSource.COMPUTED, "override:in-house-7b")
    assert book.is_known("vllm", "in-house-7b")
    partial = _book(overrides=[{"model": "in-house-7b", "output": 1.5}])  # no input: cannot stand alone
    assert _cost(partial, "vllm", "in-house-7b", input_tokens=1).source is CostSource.UNPRICED


def test_custom_model_with_tiers_and_a_dated_change() -> None:
    book = _book(
        custom_models=[
            {
                "provider": "acme",
                "model": "acme-large",
                "input": 2,
                "output": 6,
                "cache_read": 0.2,
                "tiers": [{"above_input_tokens": 200_000, "input": 4, "output": 12}],
                "prices_from": [{"effective_from": date(2026, 1, 1), "input": 3, "output": 9}],
            }
        ]
    )
    old = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    small = {"input_tokens": 100_000, "cache_read_tokens": 100_000, "output_tokens": 10_000}
    cost = _cost(book, "acme", "acme-large", old, **small)
    assert cost.total == D("0.28")  # 100k * $2 + 100k * $0.20 + 10k * $6
    assert cost.price_ref == "custom:acme-large"
    large = {"input_tokens": 250_000, "cache_read_tokens": 10_000, "output_tokens": 10_000}
    assert _cost(book, "acme", "acme-large", old, **large).total == D(
        "1.122"
    )  # 250k*$4 + 10k*$0.20 + 10k*$12
    new = _cost(book, "ACME", "Acme-Large", AT, **small)
    assert new.total == D("0.69")  # 200k * $3 (cache reads pay input in the new set) + 10k * $9
    assert new.price_ref == "custom:acme-large from 2026-01-01"
    assert _cost(book, "litellm", "acme/acme-large", AT, **small).total == D("0.69")


def test_local_model_costs_hardware_time() -> None:
    book = _book(local_providers=[{"provider": "ollama", "cost_per_hour": 0.50}])
    event = UsageEvent.create(
        provider="ollama", model="llama3.1:8b", input_tokens=5_000, output_tokens=800, duration_ms=90_000
    )
    cost = book.price(event)
    assert cost.total == D("0.0125")  # 90 s at $0.50/h
    assert cost.slices["hardware"] == D("0.0125")
    assert cost.slices["input"] == 0
    assert (cost.source, cost.price_ref) == (CostSource.COMPUTED, "local:ollama")
    thirds = book.price_usage("ollama", "x", Usage(), AT, duration_ms=1_000)  # 1/7200 USD
    assert thirds.total == D("0.0001388889")
    assert thirds.total == from_units(to_units(sum(thirds.slices.values(), D(0))))


def test_default_local_providers_are_free(book: PriceBook) -> None:
    cost = _cost(book, "Ollama", "qwen2.5-coder", input_tokens=10_000, output_tokens=1_000)
    assert (cost.total, cost.source, cost.price_ref) == (D(0), CostSource.COMPUTED, "local:ollama")
    assert "hardware" not in cost.slices


def test_unknown_model_is_unpriced_at_the_fallback(book: PriceBook) -> None:
    cost = _cost(book, "acme", "mystery-1", input_tokens=1_000, cache_read_tokens=100, output_tokens=200)
    assert cost.source is CostSource.UNPRICED
    assert cost.total == D("0.0315")  # (1,000 + 100) * $15 + 200 * $75
    assert cost.price_ref == "fallback"
    assert book.rates("acme", "mystery-1") is None
    assert not book.is_known("acme", "mystery-1")
    cheap = _book(fallback={"input": 1, "output": 2})
    assert _cost(cheap, "acme", "mystery-1", input_tokens=1_000_000, output_tokens=1_000_000).total == D("3")


def test_fallback_disabled_is_zero_but_still_unpriced() -> None:
    book = _book(fallback_enabled=False)
    cost = _cost(book, "acme", "mystery-1", input_tokens=1_000, output_tokens=200)
    assert (cost.total, cost.source, cost.price_ref) == (D(0), CostSource.UNPRICED, "fallback")


def test_provider_reported_cost_wins(book: PriceBook) -> None:
    event = UsageEvent.create(
        provider="anthropic",
        model="claude-sonnet-4-20250514",
        input_tokens=1_500,
        output_tokens=800,
        provider_cost=D("0.0069"),
    )
    cost = book.price(event)
    assert (cost.total, cost.source) == (D("0.0069"), CostSource.PROVIDER_REPORTED)
    assert cost.slices["input"] == D("0.0045")  # still computed, for information
    assert cost.slices["output"] == D("0.012")
    assert cost.price_ref == f"{VERSION}: anthropic/claude-sonnet-4-0"
    unknown = book.price(UsageEvent.create(provider="acme", model="x", provider_cost=D("0.123456789012345")))
    assert (unknown.total, unknown.source, unknown.slices) == (
        D("0.123456789"),
        CostSource.PROVIDER_REPORTED,
        {},
    )


# -- names ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "canonical"),
    [
        ("anthropic", "claude-sonnet-4-5-20250929", ("anthropic", "claude-sonnet-4-5")),
        ("Anthropic", "anthropic/claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5")),
        ("claude", "claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5")),
        ("litellm", "openai/gpt-5", ("openai", "gpt-5")),
        ("my-gateway", "openai/gpt-5", ("openai", "gpt-5")),
        ("my-gateway", "gpt-5", ("openai", "gpt-5")),
        ("gemini", "gemini-2.5-pro", ("google", "gemini-2.5-pro")),
        ("vertex_ai", "gemini-2.5-pro", ("google", "gemini-2.5-pro")),
        (
            "bedrock",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            ("aws", "regional.anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ),
        ("azure", "gpt-5", ("azure", "gpt-5")),
        ("openrouter", "anthropic/claude-sonnet-4.5", ("openrouter", "anthropic/claude-sonnet-4.5")),
        ("xai", "grok-4", ("x-ai", "grok-4-0709")),
    ],
)
def test_provider_and_model_names(
    book: PriceBook, provider: str, model: str, canonical: tuple[str, str]
) -> None:
    rates = book.rates(provider, model, AT)
    assert rates is not None
    assert (rates.provider, rates.model) == canonical
    assert book.is_known(provider, model)


def test_aliases() -> None:
    book = _book(aliases={"sonnet": "anthropic/claude-sonnet-4-5"})
    assert _cost(book, "claude", "sonnet", input_tokens=100_000).total == D("0.3")


# -- the book ------------------------------------------------------------------------------------------------


def test_price_uses_event_time_and_tier(book: PriceBook) -> None:
    event = UsageEvent.create(
        provider="openai",
        model="o3",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        input_tokens=1_000_000,
        service_tier="flex",
    )
    assert book.price(event).total == D("10")


def test_rates_and_known(book: PriceBook) -> None:
    rates = book.rates("anthropic", "claude-sonnet-4-5", AT)
    assert rates is not None
    assert (rates.input, rates.output, rates.cache_read, rates.cache_write, rates.cache_write_1h) == (
        D(3),
        D(15),
        D("0.3"),
        D("3.75"),
        D(6),
    )
    assert rates.web_search == D(10)
    ((threshold, long),) = rates.tiers
    assert threshold == 200_000
    assert (long.input, long.output, long.cache_write_1h) == (D(6), D("22.5"), D(12))
    assert rates.for_input_tokens(200_001) is long
    assert rates.blended_price() == D(6)  # (3 * 3 + 15) / 4
    assert book.is_known("anthropic", "claude-sonnet-4-5")
    assert book.rates("openai", "o3", datetime(2025, 1, 1, tzinfo=UTC)) != book.rates("openai", "o3", AT)


def test_naive_time_is_refused(book: PriceBook) -> None:
    with pytest.raises(ValidationError, match="at: needs a timezone"):
        book.price_usage("openai", "gpt-5", Usage(), datetime(2026, 1, 1))


def test_thread_safe(book: PriceBook) -> None:
    models = [("openai", f"gpt-5{suffix}") for suffix in ("", "-mini", "-nano")] + [
        ("anthropic", "claude-opus-4-1")
    ]
    expected = {m: _cost(PriceBook(), *m, input_tokens=1_234, output_tokens=567).total for m in models}
    shared = PriceBook()
    errors: list[str] = []

    def work() -> None:
        for _ in range(200):
            for m in models:
                if _cost(shared, *m, input_tokens=1_234, output_tokens=567).total != expected[m]:
                    errors.append(str(m))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_import_is_light() -> None:
    code = (
        "import sys, costwarden.pricing.book, costwarden.pricing.tiers; "
        "heavy = {'genai_prices', 'sqlalchemy', 'httpx', 'requests', 'redis', 'psycopg'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_yaml_example_from_the_docs() -> None:
    import yaml

    text = """
pricing:
  fallback: {input: 15, output: 75}
  fallback_enabled: true
  overrides:
    - model: gpt-5
      provider: openai
      input: 1.0
      output: 8.0
      effective_from: 2026-06-01
  custom_models:
    - provider: acme
      model: acme-large
      input: 2
      output: 6
      cache_read: 0.2
      tiers: [{above_input_tokens: 200000, input: 4, output: 12}]
      prices_from: [{effective_from: 2026-01-01, input: 3, output: 9}]
  local_providers:
    - provider: ollama
      cost_per_hour: 0.50
"""
    config = PricingConfig.model_validate(yaml.safe_load(text)["pricing"])
    assert isinstance(config.custom_models[0], CustomModel)
    assert config.local_providers[0].cost_per_hour == D("0.5")
    book = PriceBook(config)
    assert _cost(book, "openai", "gpt-5", input_tokens=1_000_000).total == D("1")


def test_docs_example_runs_as_documented(capsys: pytest.CaptureFixture[str]) -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "pricing.md").read_text(encoding="utf-8")
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    exec(compile(code, "docs/pricing.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    documented = [line[2:] for line in code.splitlines() if line.startswith("# ")]
    assert printed[:3] == documented[:3]
    assert printed[3].startswith(documented[3].split(", ...")[0])
    assert printed[3].endswith("price_ref='fallback')")


def test_entry_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(book_module, "_MAX_ENTRIES", 3)
    book = PriceBook()
    for index in range(10):
        assert _cost(book, "acme", f"model-{index}", input_tokens=1).source is CostSource.UNPRICED
    assert len(book._entries) <= 3
    assert _cost(book, "openai", "gpt-5", input_tokens=1_000_000).total == D("1.25")


# -- canonical names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "canonical"),
    [
        ("claude", "claude-sonnet-4-5-20250929", ("anthropic", "claude-sonnet-4-5")),
        ("anthropic", "claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5")),
        ("Anthropic", " claude-opus-4-1-20250805 ", ("anthropic", "claude-opus-4-1")),
        ("openai", "gpt-4o-2024-08-06", ("openai", "gpt-4o")),
        ("litellm", "anthropic/claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5")),
        ("claude", "claude-nonexistent-9", ("anthropic", "claude-nonexistent-9")),
        ("Acme", "Acme-Model-1", ("acme", "Acme-Model-1")),
        ("ollama", "llama3.1:8b", ("ollama", "llama3.1:8b")),
    ],
)
def test_canonical_names(book: PriceBook, provider: str, model: str, canonical: tuple[str, str]) -> None:
    assert book.canonical(provider, model) == canonical
    # resolving the canonical names again changes nothing
    assert book.canonical(*canonical) == canonical


def test_canonical_names_of_custom_models_and_aliases() -> None:
    book = _book(
        aliases={"sonnet": "anthropic/claude-sonnet-4-5"},
        custom_models=[{"provider": "Acme", "model": "acme-large", "input": 1, "output": 2}],
    )
    assert book.canonical("claude", "sonnet") == ("anthropic", "claude-sonnet-4-5")
    assert book.canonical("acme", "ACME-LARGE") == ("acme", "acme-large")


def test_price_of_a_canonical_event_uses_the_given_names() -> None:
    book = _book(overrides=[{"model": "claude-sonnet-4-5-20250929", "input": 1, "output": 1}])
    at = datetime(2026, 11, 1, tzinfo=UTC)
    dated = UsageEvent.create(
        provider="claude", model="claude-sonnet-4-5-20250929", input_tokens=1_000_000, occurred_at=at
    )
    canonical = replace(
        dated,
        provider="anthropic",
        model="claude-sonnet-4-5",
        given_provider="claude",
        given_model="claude-sonnet-4-5-20250929",
    )
    assert book.price(dated).total == book.price(canonical).total == D("1")
