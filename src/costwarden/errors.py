"""One hierarchy of errors: every failure costwarden raises is a `CostwardenError`."""

from __future__ import annotations

__all__ = [
    "CostwardenError",
    "ConfigError",
    "ValidationError",
    "PricingError",
    "LedgerError",
    "MissingExtraError",
]


class CostwardenError(Exception):
    """Base class of every error raised by costwarden."""


class ConfigError(CostwardenError):
    """A configuration file, key, flag or environment variable is wrong.

    The message names where (file and key path, flag or variable) and what was expected.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        self.source = source
        self.key = key
        where = ""
        if source and key:
            where = f"{source}: {key}: "
        elif source:
            where = f"{source}: "
        elif key:
            where = f"{key}: "
        super().__init__(f"{where}{message}")


class ValidationError(CostwardenError, ValueError):
    """An event or request field holds a value that cannot be accepted; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class PricingError(CostwardenError):
    """A price could not be determined or a price definition is invalid."""


class LedgerError(CostwardenError):
    """The ledger storage failed or holds an unexpected schema."""


class MissingExtraError(CostwardenError, ImportError):
    """An optional dependency is not installed; the message gives the install command."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{package} is not installed; install it with: pip install 'costwarden[{extra}]'")
