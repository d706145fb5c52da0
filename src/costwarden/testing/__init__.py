"""Test doubles shipped with costwarden: a fake LLM provider server (and, in
`costwarden.storage.memory.ledger`, an in-memory ledger)."""

from costwarden.testing.fake_provider import FakeProvider, ReceivedRequest
from costwarden.testing.wire import Reply

__all__ = ["FakeProvider", "ReceivedRequest", "Reply"]
