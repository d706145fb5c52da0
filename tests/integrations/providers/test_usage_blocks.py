"""Usage blocks of every wire format -> non-overlapping token slices, read directly and through the
registry's wire formats (as the importers and the gateway read them)."""

from __future__ import annotations

from costwarden.core.usage import Usage
from costwarden.integrations.providers import adapter_named
from costwarden.integrations.providers.anthropic import messages_usage as anthropic_usage
from costwarden.integrations.providers.openai import chat_usage as openai_chat_usage
from costwarden.integrations.providers.openai import responses_usage as openai_responses_usage


def test_openai_chat_prompt_tokens_include_cached_tokens() -> None:
    usage = {
        "prompt_tokens": 3000,
        "completion_tokens": 500,
        "total_tokens": 3500,
        "prompt_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 300},
        "completion_tokens_details": {"reasoning_tokens": 100},
    }
    expected = Usage(
        input_tokens=700,
        cache_read_tokens=2000,
        cache_write_tokens=300,
        output_tokens=500,
        reasoning_tokens=100,
    )
    assert openai_chat_usage(usage) == expected
    assert adapter_named("openai").wires["chat"].usage_block(usage) == expected


def test_openai_chat_without_details_and_with_nulls() -> None:
    assert openai_chat_usage(
        {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": None}
    ) == Usage(input_tokens=10, output_tokens=2)


def test_responses_usage() -> None:
    usage = {
        "input_tokens": 1000,
        "input_tokens_details": {"cached_tokens": 400},
        "output_tokens": 50,
        "output_tokens_details": {"reasoning_tokens": 20},
    }
    expected = Usage(input_tokens=600, cache_read_tokens=400, output_tokens=50, reasoning_tokens=20)
    assert openai_responses_usage(usage) == expected
    assert adapter_named("openai").wires["responses"].usage_block(usage) == expected


def test_anthropic_usage_splits_cache_writes() -> None:
    usage = {
        "input_tokens": 5,
        "cache_creation_input_tokens": 900,
        "cache_read_input_tokens": 20000,
        "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 300},
        "output_tokens": 400,
        "output_tokens_details": {"thinking_tokens": 150},
        "server_tool_use": {"web_search_requests": 2},
    }
    expected = Usage(
        input_tokens=5,
        cache_read_tokens=20000,
        cache_write_tokens=600,
        cache_write_1h_tokens=300,
        output_tokens=400,
        reasoning_tokens=150,
        web_search_requests=2,
    )
    assert anthropic_usage(usage) == expected
    assert adapter_named("anthropic").wires["messages"].usage_block(usage) == expected


def test_anthropic_usage_without_split_counts_writes_as_5m() -> None:
    usage = {"input_tokens": 5, "cache_creation_input_tokens": 900, "output_tokens": 1}
    assert anthropic_usage(usage) == Usage(input_tokens=5, cache_write_tokens=900, output_tokens=1)
    # a split that does not add up: the rest is 5-minute writes
    partial = {**usage, "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 100}}
    assert anthropic_usage(partial) == Usage(
        input_tokens=5, cache_write_tokens=800, cache_write_1h_tokens=100, output_tokens=1
    )


def test_garbage_counts_are_zero() -> None:
    assert openai_chat_usage({"prompt_tokens": "many", "completion_tokens": -4}) == Usage()
    assert openai_chat_usage({"prompt_tokens": float("nan"), "completion_tokens": True}) == Usage()
