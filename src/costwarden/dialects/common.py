"""What every dialect shares: the translation being built (the costwarden configuration, what was mapped
where, and which native key came from which key of the file) and the checks that name the file's own keys.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn

from costwarden.core.limits import MAX_BUDGET_COUNT
from costwarden.core.money import parse_money
from costwarden.errors import ConfigError, ValidationError

__all__ = ["Mapped", "Translation", "Builder"]


@dataclass(frozen=True, slots=True)
class Mapped:
    """One key of the file and where it went in costwarden's configuration (`target` empty: nowhere,
    `note` says why)."""

    source: str
    target: str
    note: str = ""


@dataclass
class Translation:
    """A config file in costwarden's own schema: `data`, the dialects recognised in it, what was mapped
    where, and `origins` (a native key path -> the file's key it came from, for error messages)."""

    data: dict[str, Any]
    dialects: list[str] = field(default_factory=list)
    mapped: list[Mapped] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)

    def origin_of(self, key: str) -> str | None:
        """The file's key a native key path came from (the longest known prefix), or None."""
        best: str | None = None
        for native in self.origins:
            if (key == native or key.startswith((native + ".", native + "["))) and (
                best is None or len(native) > len(best)
            ):
                best = native
        return None if best is None else self.origins[best]


class Builder:
    """Builds a `Translation` from the file's data; its checks raise `ConfigError` naming file and key."""

    def __init__(self, data: Mapping[str, Any], source: str | None) -> None:
        self.source = source or "configuration"
        self.result = Translation(copy.deepcopy(dict(data)))

    @property
    def data(self) -> dict[str, Any]:
        return self.result.data

    # -- checks --------------------------------------------------------------------------------------------

    def fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(message, source=self.source, key=key)

    def section(self, value: object, key: str) -> Mapping[str, Any]:
        """`value` as a mapping (None: empty), else an error naming `key`."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(key, f"expected a section of keys, got {type(value).__name__}")
        for name in value:
            if not isinstance(name, str):
                self.fail(key, f"expected names as keys, got {name!r}")
        return value

    def only(self, section: Mapping[str, Any], allowed: tuple[str, ...], key: str) -> None:
        """Every key of `section` is one of `allowed`, else `key.NAME: unknown key`."""
        for name in section:
            if name not in allowed:
                self.fail(f"{key}.{name}", f"unknown key (expected one of {', '.join(allowed)})")

    def money(self, value: object, key: str) -> Decimal:
        if isinstance(value, bool):
            self.fail(key, f"expected an amount in USD, got {value!r}")
        try:
            return parse_money(value, key)
        except ValidationError as exc:
            self.fail(key, str(exc).removeprefix(f"{key}: "))

    def count(self, value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BUDGET_COUNT:
            self.fail(key, f"expected a whole number from 0 to {MAX_BUDGET_COUNT:,}, got {value!r}")
        return value

    def flag(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {value!r}")
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected text, got {value!r}")
        return value.strip()

    # -- output --------------------------------------------------------------------------------------------

    def recognised(self, dialect: str) -> None:
        if dialect not in self.result.dialects:
            self.result.dialects.append(dialect)

    def mapped(self, source: str, target: str, note: str = "") -> None:
        self.result.mapped.append(Mapped(source, target, note))

    def add_budget(self, budget: dict[str, Any], source: str, note: str = "") -> str:
        """Append a budget to `budgets:`; returns its native key path (`budgets[3]`)."""
        budgets = self.data.setdefault("budgets", [])
        if budgets is None:
            budgets = self.data["budgets"] = []
        if not isinstance(budgets, list):
            self.fail("budgets", "expected a list of budgets")
        budgets.append(budget)
        path = f"budgets[{len(budgets) - 1}]"
        self.result.origins[path] = source
        self.mapped(source, f"{path} (id {budget['id']})", note)
        return path

    def add_to_list(self, section: str, name: str, item: dict[str, Any], source: str, note: str = "") -> str:
        """Append `item` to the list `section.name` (`pricing.overrides`); returns its key path."""
        parent = self.data.setdefault(section, {})
        if parent is None:
            parent = self.data[section] = {}
        if not isinstance(parent, dict):
            self.fail(section, f"expected a section of keys, got {type(parent).__name__}")
        items = parent.setdefault(name, [])
        if not isinstance(items, list):
            self.fail(f"{section}.{name}", "expected a list")
        items.append(item)
        path = f"{section}.{name}[{len(items) - 1}]"
        self.result.origins[path] = source
        self.mapped(source, path, note)
        return path

    def set_top(self, name: str, value: Any, source: str, note: str = "") -> None:
        """Set the top-level key `name` (refused when the file sets it natively as well)."""
        if name in self.data:
            self.fail(source, f"also set as {name}; keep one of them")
        self.data[name] = value
        self.result.origins[name] = source
        self.mapped(source, name, note)

    def set_key(self, section: str, name: str, value: Any, source: str, note: str = "") -> None:
        """Set `section.name` (refused when the file sets it natively as well)."""
        parent = self.data.setdefault(section, {})
        if parent is None:
            parent = self.data[section] = {}
        if not isinstance(parent, dict):
            self.fail(section, f"expected a section of keys, got {type(parent).__name__}")
        if name in parent:
            self.fail(source, f"also set as {section}.{name}; keep one of them")
        parent[name] = value
        self.result.origins[f"{section}.{name}"] = source
        self.mapped(source, f"{section}.{name}", note)
