"""The catalog's version and price dates, kept per installed genai-prices: the cached facts are the
package's own, read from the cache on later runs, read again when the cache is damaged or the installed
files change, and a report names the catalog without importing genai-prices."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import genai_prices

from costwarden.pricing.catalog import GenaiPricesCatalog, _read_facts
from costwarden.pricing.catalog_dates import CatalogFacts, catalog_facts, facts_key, facts_path


def test_the_cached_facts_are_the_packages_own() -> None:
    key = facts_key()
    assert key is not None
    assert not facts_path(key).exists()
    read = _read_facts()
    assert read.version == genai_prices.__version__ and read.price_dates
    assert catalog_facts(_read_facts) == read
    assert facts_path(key).is_file()
    assert catalog_facts(_read_facts) == read  # from the cache this time


def test_later_runs_read_the_cache_and_a_damaged_one_is_read_again() -> None:
    key = facts_key()
    assert key is not None
    path = facts_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "9.9.9", "price_dates": ["2020-01-02"]}), encoding="utf-8")
    assert catalog_facts(_read_facts) == CatalogFacts("9.9.9", (date(2020, 1, 2),))
    for damaged in ("{", '{"version": 1, "price_dates": []}', '{"version": "1", "price_dates": ["x"]}'):
        path.write_text(damaged, encoding="utf-8")
        assert catalog_facts(_read_facts) == _read_facts()
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == genai_prices.__version__


def test_another_installation_has_another_key(tmp_path: Path) -> None:
    package = Path(genai_prices.__file__).parent
    fake = tmp_path / "genai_prices"
    fake.mkdir()
    for name in ("__init__.py", "data.py"):
        (fake / name).write_bytes((package / name).read_bytes())
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from costwarden.pricing.catalog_dates import facts_key\n"
        "print(facts_key())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() not in ("", "None", facts_key())


def test_a_report_names_the_catalog_without_importing_it(tmp_path: Path) -> None:
    catalog_facts(_read_facts)  # an earlier run filled the cache
    probe = (
        "import sys\n"
        "from datetime import date\n"
        "from costwarden.pricing.catalog import GenaiPricesCatalog\n"
        "catalog = GenaiPricesCatalog()\n"
        "print(catalog.version, catalog.prices_as_of(date(2026, 1, 1)), 'genai_prices' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    catalog = GenaiPricesCatalog()
    expected = _read_facts()
    assert catalog.version == f"genai-prices {expected.version}"
    as_of = max(d for d in expected.price_dates if d <= date(2026, 1, 1))
    assert done.stdout.split() == ["genai-prices", expected.version, as_of.isoformat(), "False"]
