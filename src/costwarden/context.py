"""Attribution carried through contextvars: `with warden.run(project=..., agent=...)` applies to every call
made inside it, in threads started with `contextvars.copy_context()` and in asyncio tasks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from costwarden.core.usage import Attribution

__all__ = ["current_attribution", "attribution_scope"]

_ATTRIBUTION: ContextVar[Attribution] = ContextVar("costwarden_attribution", default=Attribution())  # noqa: B039


def current_attribution() -> Attribution:
    """The attribution in effect here (empty outside any run)."""
    return _ATTRIBUTION.get()


@contextmanager
def attribution_scope(attribution: Attribution) -> Iterator[Attribution]:
    """Merge `attribution` over the current one for the duration of the block."""
    merged = _ATTRIBUTION.get().merged(attribution)
    token = _ATTRIBUTION.set(merged)
    try:
        yield merged
    finally:
        _ATTRIBUTION.reset(token)
