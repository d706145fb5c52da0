"""The genai-prices catalog adapter: same totals as genai-prices' own arithmetic, and the boundary that
keeps genai-prices behind it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.core.money import from_units, to_units
from costwarden.core.usage import CostSource, Usage
from costwarden.pricing.book import PriceBook
from costwarden.pricing.catalog import Catalog, CatalogModel, GenaiPricesCatalog, price_context
from costwarden.pricing.rates import RawPrice

D = Decimal
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SRC = Path(__file__).parents[2] / "src" / "costwarden"


def test_price_context() -> None:
    assert price_context(None) is None
    assert price_context("batch") == {"processing": "batch"}
    assert price_context("fast") == {"service_tier": "fast", "speed": "fast"}
    assert price_context("Priority") == {"service_tier": "priority"}
    assert price_context("route=mistral/eu, speed=fast") == {"route": "mistral/eu", "speed": "fast"}


def test_catalog_answers() -> None:
    catalog = GenaiPricesCatalog()
    assert catalog.version == "genai-prices 0.2.3"
    assert catalog.is_provider("anthropic") and catalog.is_provider("openai")
    assert not catalog.is_provider("my-gateway")
    assert catalog.find("anthropic", "no-such-model") is None
    found = catalog.find(None, "claude-sonnet-4-5-20250929")
    assert found is not None
    assert (found.provider_id, found.model_id) == ("anthropic", "claude-sonnet-4-5")
    assert found.raw_prices(AT, None)["input"] == (D(3), ((200_000, D(6)),))
    assert found.tier_applies(AT, "batch") and not found.tier_applies(AT, None)
    o3 = catalog.find("openai", "o3")
    assert o3 is not None and date(2025, 6, 10) in o3.breaks
    assert o3.price_since(datetime(2025, 7, 1, tzinfo=UTC), None) == date(2025, 6, 10)
    deepseek = catalog.find("deepseek", "deepseek-chat")
    assert deepseek is not None and deepseek.time_of_day
    models = catalog.models("claude")
    assert ("anthropic", "claude-sonnet-4-5") in models
    assert {provider for provider, _ in models} == {"anthropic"}


# -- the boundary ------------------------------------------------------------------------------------------


def _imports_genai_prices(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        else:
            continue
        if any(name == "genai_prices" or name.startswith("genai_prices.") for name in names):
            return True
    return False


def test_only_the_catalog_imports_genai_prices() -> None:
    importers = sorted(
        str(path.relative_to(SRC.parent)) for path in SRC.rglob("*.py") if _imports_genai_prices(path)
    )
    assert importers == ["costwarden/pricing/catalog.py"]


def test_the_boundary_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    for line in ("import genai_prices", "from genai_prices.types import Usage", "import genai_prices.data"):
        module = tmp_path / "module.py"
        module.write_text(f"def f() -> None:\n    {line}\n", encoding="utf-8")
        assert _imports_genai_prices(module), line
    module.write_text("from . import genai_prices_like\nimport genai_pricesx\n", encoding="utf-8")
    assert not _imports_genai_prices(module)


def test_core_does_not_import_pricing_or_genai_prices() -> None:
    for path in (SRC / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith(("costwarden.pricing", "genai_prices")), path
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(("costwarden.pricing", "genai_prices")), path


# -- another catalog ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ListedModel:
    provider_id: str
    model_id: str
    prices: dict[str, RawPrice]
    breaks: tuple[date, ...] = ()
    time_of_day: tuple[tuple[int, int], ...] = ()

    def raw_prices(self, at: datetime, service_tier: str | None) -> dict[str, RawPrice]:
        return self.prices

    def price_since(self, at: datetime, service_tier: str | None) -> date | None:
        return None

    def tier_applies(self, at: datetime, service_tier: str | None) -> bool:
        return False


class _ListedCatalog:
    """A catalog of one provider's price list, as a company might keep its negotiated prices."""

    version = "price-list 7"

    def __init__(self, models: dict[str, dict[str, RawPrice]]) -> None:
        self._models = models

    def is_provider(self, provider: str) -> bool:
        return provider == "acme"

    def find(self, provider: str | None, model: str) -> CatalogModel | None:
        if provider not in (None, "acme") or model not in self._models:
            return None
        return _ListedModel("acme", model, self._models[model])

    def models(self, provider: str | None = None) -> list[tuple[str, str]]:
        return sorted(("acme", model) for model in self._models)


def test_the_book_prices_from_any_catalog() -> None:
    listed: Catalog = _ListedCatalog(
        {"rocket-1": {"input": (D(2), ((100_000, D(4)),)), "output": (D(8), ())}}
    )
    book = PriceBook(catalog=listed)
    cost = book.price_usage("acme", "rocket-1", Usage(input_tokens=1_000_000, output_tokens=1_000), AT)
    assert (cost.total, cost.source, cost.price_ref) == (
        D("4.008"),
        CostSource.COMPUTED,
        "price-list 7: acme/rocket-1",
    )
    assert book.price_usage("gateway", "rocket-1", Usage(input_tokens=1_000), AT).total == D("0.002")
    assert book.catalog_version == "price-list 7"
    assert book.known_models() == [("acme", "rocket-1")]
    assert book.price_usage("openai", "gpt-5", Usage(input_tokens=1), AT).source is CostSource.UNPRICED


# -- exactness against genai-prices -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def _genai_total(provider: str, model: str, usage: Usage, at: datetime, tier: str | None = None) -> Decimal:
    import genai_prices

    theirs = genai_prices.Usage(
        input_tokens=usage.total_input_tokens,  # genai-prices: ALL input, cached included
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens + usage.cache_write_1h_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_tokens=usage.output_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
        web_searches=usage.web_search_requests,
    )
    result = genai_prices.calc_price(
        theirs, model, provider_id=provider, genai_request_timestamp=at, price_context=price_context(tier)
    )
    return result.total_price


SMALL = Usage(
    input_tokens=12_345,
    cache_read_tokens=67_890,
    cache_write_tokens=3_210,
    cache_write_1h_tokens=1_234,
    output_tokens=4_567,
    reasoning_tokens=1_111,
    web_search_requests=2,
)
LONG = Usage(input_tokens=250_001, cache_read_tokens=30_000, cache_write_tokens=7, output_tokens=99)


@pytest.mark.parametrize(
    "case",
    [
        ("anthropic", "claude-sonnet-4-5", SMALL, AT, None),
        ("anthropic", "claude-sonnet-4-5", LONG, AT, None),
        ("anthropic", "claude-sonnet-4-5", LONG, AT, "batch"),
        ("anthropic", "claude-opus-4-1", SMALL, AT, None),
        ("anthropic", "claude-haiku-4-5", SMALL, AT, None),
        ("openai", "o3", SMALL, datetime(2025, 6, 9, tzinfo=UTC), None),
        ("openai", "o3", SMALL, datetime(2025, 6, 10, tzinfo=UTC), None),
        ("openai", "gpt-5", SMALL, AT, "flex"),
        ("openai", "gpt-5", SMALL, AT, "priority"),
        ("openai", "gpt-5", SMALL, AT, "batch"),
        ("openai", "gpt-5.6-sol", LONG, AT, None),
        ("google", "gemini-2.5-pro", LONG, AT, None),
        ("deepseek", "deepseek-chat", SMALL, datetime(2026, 1, 1, 20, tzinfo=UTC), None),
        ("perplexity", "sonar-deep-research", SMALL, AT, None),
        ("aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", LONG, AT, None),
    ],
)
def test_equals_genai_prices(book: PriceBook, case: tuple[str, str, Usage, datetime, str | None]) -> None:
    provider, model, usage, at, tier = case
    ours = book.price_usage(provider, model, usage, at, tier)
    assert ours.total == from_units(to_units(_genai_total(provider, model, usage, at, tier)))


def test_every_catalog_model_equals_genai_prices(book: PriceBook) -> None:
    """Every model of the bundled catalog, at a few dates, short and long context: same total."""
    checked = 0
    days = [datetime(2024, 6, 1, tzinfo=UTC), datetime(2026, 1, 15, 18, tzinfo=UTC), AT]
    for provider, model in book.catalog.models():
        for at in days:
            for usage in (SMALL, LONG):
                try:
                    theirs = _genai_total(provider, model, usage, at)
                except (LookupError, ValueError):
                    continue  # models genai-prices itself cannot price with text usage
                rates = book.rates(provider, model, at)
                if rates is None or rates.source != "catalog":
                    continue  # a local default provider name, never a catalog id
                ours = book.price_usage(provider, model, usage, at)
                assert ours.total == from_units(to_units(theirs)), (provider, model, at, usage)
                checked += 1
    assert checked > 10_000
