"""The one error of a bad read question: what was wrong and which option (`--where`, `--from`) said it."""

from __future__ import annotations

__all__ = ["QueryError"]


class QueryError(ValueError):
    """A question the views cannot answer as asked: a malformed filter, period or choice.

    `option` names where the value came from (a CLI flag such as `--where`, or an API parameter); the CLI
    turns the error into its usage error for that flag (exit 2)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option

    def __str__(self) -> str:
        return f"{self.option}: {self.message}" if self.option else self.message
