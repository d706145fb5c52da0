"""The provider registry: built-in adapters, lookups by name and by client, registering and replacing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import anthropic
import openai
import pytest

from costwarden.integrations.adapter import ProviderAdapter, SdkAdapter
from costwarden.integrations.providers import (
    BUILT_IN,
    adapter_for_client,
    adapter_named,
    adapters,
    register,
    unregister,
)
from costwarden.integrations.providers import openai as openai_adapter
from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.testing import FakeProvider
from costwarden.warden import Warden


@pytest.fixture
def compat() -> Iterator[SdkAdapter]:
    """An OpenAI-compatible gateway: the openai SDK's clients, priced and budgeted as `my-gateway`."""
    adapter = replace(openai_adapter.ADAPTER, name="my-gateway", provider="my-gateway", providers_by_class={})
    register(adapter)
    try:
        yield adapter
    finally:
        unregister("my-gateway")


def test_built_in_adapters_are_registered_by_name() -> None:
    assert BUILT_IN == ("openai", "anthropic")
    assert [a.name for a in adapters()][-2:] == ["anthropic", "openai"]
    for name in BUILT_IN:
        adapter = adapter_named(name)
        assert adapter.name == name and isinstance(adapter, ProviderAdapter)
        assert adapter.endpoints and adapter.wires and adapter.raw_header is not None
    assert sorted(adapter_named("openai").wires) == ["chat", "responses"]
    assert sorted(adapter_named("anthropic").wires) == ["messages"]


@pytest.mark.parametrize(
    ("make", "name", "provider", "is_async"),
    [
        (lambda: openai.OpenAI(api_key="k"), "openai", "openai", False),
        (lambda: openai.AsyncOpenAI(api_key="k"), "openai", "openai", True),
        (
            lambda: openai.AzureOpenAI(
                api_key="k", azure_endpoint="http://127.0.0.1:1", api_version="2024-10-21"
            ),
            "openai",
            "azure",
            False,
        ),
        (lambda: anthropic.Anthropic(api_key="k"), "anthropic", "anthropic", False),
        (lambda: anthropic.AsyncAnthropic(api_key="k"), "anthropic", "anthropic", True),
        (
            lambda: anthropic.AnthropicBedrock(
                aws_region="us-east-1", aws_access_key="a", aws_secret_key="b"
            ),
            "anthropic",
            "aws-bedrock",
            False,
        ),
        (
            lambda: anthropic.AsyncAnthropicVertex(region="us-east5", project_id="p", access_token="t"),
            "anthropic",
            "google-vertex",
            True,
        ),
    ],
)
def test_clients_are_matched_to_their_adapter(make: Any, name: str, provider: str, is_async: bool) -> None:
    client = make()
    adapter = adapter_for_client(client)
    assert adapter is not None and adapter.name == name
    assert adapter.default_provider(client) == provider
    assert adapter.is_async(client) is is_async


def test_lookups_of_unknown_names_and_clients() -> None:
    with pytest.raises(KeyError, match="no provider adapter named 'nope'; registered: openai, anthropic"):
        adapter_named("nope")
    with pytest.raises(KeyError, match="no provider adapter named 'nope'"):
        unregister("nope")
    assert adapter_for_client(object()) is None


def test_register_refuses_a_taken_name_and_what_is_not_an_adapter() -> None:
    with pytest.raises(ValueError, match="named 'openai' is already registered"):
        register(openai_adapter.ADAPTER)
    with pytest.raises(TypeError, match="expected a ProviderAdapter, got str"):
        register("openai")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty name"):
        register(replace(openai_adapter.ADAPTER, name=""))


def test_replace_then_restore_a_built_in_adapter() -> None:
    renamed = replace(openai_adapter.ADAPTER, provider="renamed")
    register(renamed, replace=True)
    try:
        assert adapter_named("openai") is renamed
        assert adapter_for_client(openai.OpenAI(api_key="k")) is renamed
    finally:
        register(openai_adapter.ADAPTER, replace=True)
    assert adapter_named("openai") is openai_adapter.ADAPTER
    assert [a.name for a in adapters()][-2:] == ["anthropic", "openai"]  # in its turn


def test_a_later_adapter_takes_over_clients_of_an_sdk(compat: SdkAdapter, fake: FakeProvider) -> None:
    ledger = MemoryLedger()
    with Warden(ledger=ledger) as warden, openai.OpenAI(**fake.client_kwargs("openai")) as bare:
        assert adapter_for_client(bare) is compat
        client = warden.wrap(bare)
        client.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}])
        (event,) = ledger.events()
        assert (event.provider, event.given_provider, event.model) == ("openai", "my-gateway", "gpt-5")
        assert fake.requests[-1].headers.get("x-stainless-raw-response") == "true"
