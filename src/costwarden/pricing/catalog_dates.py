"""What reports say of the bundled price catalog, kept per installed version: its version and the start
dates of its dated prices (`GenaiPricesCatalog.version`, `.prices_as_of`).

Reading them means importing genai-prices and walking every model of its data (a large part of a short
report's run), yet they change only when another genai-prices is installed. So they are read once and kept
in the user cache dir (`~/.cache/costwarden/catalog/`), under a key made of the installed package's files
(path, size and modification time of `genai_prices/__init__.py` and `genai_prices/data.py`, found without
importing them): installing another version changes the key, and the facts are read again. A cache that
cannot be read or written is passed over (the facts are read from the package).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

__all__ = ["CatalogFacts", "catalog_facts", "facts_key", "facts_path"]

_FORMAT = 1
_FILES = ("__init__.py", "data.py")


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    version: str
    """genai-prices' own version (`0.2.3`)."""
    price_dates: tuple[date, ...]
    """Every start date of a dated price, sorted."""


def facts_key() -> str | None:
    """The installed genai-prices' files as a key (None when they cannot be found)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("genai_prices")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        return None
    parts: list[object] = [_FORMAT]
    for name in _FILES:
        path = Path(locations[0]) / name
        try:
            stat = path.stat()
        except OSError:
            return None
        parts += [str(path), stat.st_size, stat.st_mtime_ns]
    return hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:24]


def facts_path(key: str) -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("costwarden")) / "catalog" / f"{key}.json"


def _load(path: Path) -> CatalogFacts | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data["version"]
        dates = tuple(date.fromisoformat(d) for d in data["price_dates"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(version, str) or list(dates) != sorted(dates):
        return None
    return CatalogFacts(version, dates)


def _save(path: Path, facts: CatalogFacts) -> None:
    text = json.dumps({"version": facts.version, "price_dates": [d.isoformat() for d in facts.price_dates]})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass


def catalog_facts(compute: Callable[[], CatalogFacts]) -> CatalogFacts:
    """The facts of the installed catalog: from the cache when it has them for this installation, else
    `compute()`d and kept."""
    key = facts_key()
    if key is None:
        return compute()
    path = facts_path(key)
    facts = _load(path)
    if facts is None:
        facts = compute()
        _save(path, facts)
    return facts
