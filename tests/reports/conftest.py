"""Fixtures of the report tests (the history itself lives in `history.py`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from costwarden.core.usage import UsageEvent
from costwarden.storage.ledger import Ledger

from .history import latest, make_history, snapshots


@pytest.fixture
def history() -> list[UsageEvent]:
    return make_history()


@pytest.fixture
def filled(ledger: Ledger, history: list[UsageEvent]) -> Callable[[], list[UsageEvent]]:
    """Append the history (in two batches, some one by one, then later snapshots); returns the truth."""

    def fill() -> list[UsageEvent]:
        ledger.append_many(history[:700])
        for event in history[700:760]:
            ledger.append(event)
        ledger.append_many(history[760:])
        later = snapshots(history)
        ledger.append_many(later[: len(later) // 2])
        for event in later[len(later) // 2 :]:
            ledger.append(event)
        ledger.append_many(history[:50])  # a re-import: no-op
        return latest([*history, *later])

    return fill
