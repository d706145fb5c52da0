"""Offline pre-call token estimates."""

from __future__ import annotations

import math

import pytest

from costwarden.estimate import (
    IMAGE_TOKENS,
    TokenCounter,
    TokenEstimator,
    char_bound,
    encoding_for,
    request_texts,
)


class NoTokenizer(TokenCounter):
    def encoder(self, encoding: str):  # type: ignore[no-untyped-def]
        return None


def test_encodings_of_openai_models() -> None:
    assert encoding_for("gpt-5") == encoding_for("gpt-4o-mini") == encoding_for("o3") == "o200k_base"
    assert encoding_for("gpt-4-turbo") == encoding_for("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_for("openai/gpt-5") == "o200k_base"
    assert encoding_for("claude-sonnet-4-6") is None


def test_char_bound_is_conservative_for_prose_and_code() -> None:
    assert char_bound("") == 0
    assert char_bound("abc") == 2
    assert char_bound("héllo") == 2 + 1  # 4 ASCII chars -> 2 tokens, one other character -> 1
    samples = [
        "def f(x):\n    return x * 2  # double\n" * 50,
        '[{"id": 1, "name": "item1", "price": 1.5, "tags": ["a", "b"]}]' * 30,
        "The quick brown fox jumps over the lazy dog. " * 40,
        "日本語のテキストを書いています。" * 50,
    ]
    bound = TokenEstimator(0.10, counter=NoTokenizer())  # the bound with the default safety margin
    for sample in samples:
        counted = TokenEstimator(0).count_text(sample, "gpt-5")
        if counted.method != "chars":
            assert bound.count_text(sample, "gpt-5").tokens >= counted.tokens


@pytest.mark.skipif(not TokenCounter().available("o200k_base"), reason="bpe-openai not installed")
def test_openai_models_are_counted_exactly() -> None:
    estimate = TokenEstimator(0.5).count_text("Hello, world! How are you today?", "gpt-5")
    assert (estimate.tokens, estimate.method, estimate.exact) == (9, "o200k_base", True)


def test_other_models_get_the_safety_margin() -> None:
    estimator = TokenEstimator(0.10)
    plain = TokenEstimator(0).count_text("Hello, world! How are you today?", "claude-sonnet-4-6")
    padded = estimator.count_text("Hello, world! How are you today?", "claude-sonnet-4-6")
    assert not padded.exact
    assert padded.tokens == math.ceil(plain.tokens * 11 / 10)


def test_without_any_tokenizer_the_char_bound_plus_margin_is_used() -> None:
    estimator = TokenEstimator(0.10, counter=NoTokenizer())
    estimate = estimator.count_text("x" * 200, "gpt-5")
    assert (estimate.tokens, estimate.method, estimate.exact) == (110, "chars", False)


def test_request_payloads_of_every_format() -> None:
    chat = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:..."}},
                ],
            },
        ],
        "tools": [{"type": "function", "function": {"name": "lookup"}}],
    }
    texts, messages, images = request_texts(chat)
    assert "Be brief." in texts and "What is this?" in texts and messages == 2 and images == 1
    assert any("lookup" in t for t in texts)
    responses = {"instructions": "Be brief.", "input": "hello"}
    assert request_texts(responses) == (["Be brief.", "hello"], 1, 0)
    anthropic = {
        "system": [{"type": "text", "text": "Sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert request_texts(anthropic) == (["Sys", "hi"], 1, 0)
    estimate = TokenEstimator(0, counter=NoTokenizer()).estimate("gpt-5", chat)
    assert estimate.images == 1 and estimate.tokens > IMAGE_TOKENS


def test_very_long_text_is_counted_in_pieces_never_refused() -> None:
    estimator = TokenEstimator()
    words = "hello world " * 150_000  # 1.8 million characters: more than a tokenizer accepts at once
    whole = estimator.count_text(words, "gpt-5")
    assert whole.exact
    # "hello world " is two tokens in o200k_base; pieces add at most one token each
    assert estimator.count_text("hello world hello world", "gpt-5").tokens == 4
    assert 300_000 <= whole.tokens <= 300_000 + 20
