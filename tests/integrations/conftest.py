"""Fixtures for the SDK wrapper tests: one fake provider per module, a Warden on an in-memory ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider
from costwarden.warden import Warden


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeProvider) -> None:
    fake.reset()


@pytest.fixture
def warden() -> Iterator[Warden]:
    with Warden(ledger=MemoryLedger()) as w:
        yield w
