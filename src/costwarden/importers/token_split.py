"""Token counts as agents log them -> costwarden's non-overlapping `Usage` slices.

Two questions every format answers differently: does the input count include the cached tokens, and does
the output count include the reasoning ("thoughts") tokens? Where a format leaves the second open (it
differs by the provider behind the agent), the logged total decides: a total equal to input plus output
means the reasoning was inside the output (OpenAI's convention); otherwise it was beside it (Gemini's).
"""

from __future__ import annotations

__all__ = ["output_and_reasoning", "gemini_slices", "provider_of_model"]


def output_and_reasoning(output: int, reasoning: int, total: int | None, all_input: int) -> tuple[int, int]:
    """`(output_tokens, reasoning_tokens)` with the reasoning as part of the output (costwarden's model).

    `all_input`: every input token (uncached, cache reads and writes) of the same call; `total`: the total
    the log gives, or None."""
    if reasoning and total is not None and total == all_input + output:
        return output, min(reasoning, output)  # the output already held the reasoning
    return output + reasoning, reasoning


def gemini_slices(
    *, prompt: int, candidates: int, cached: int, thoughts: int, tool: int, total: int | None
) -> tuple[int, int, int, int]:
    """Gemini `usageMetadata` counts -> `(uncached input, cache reads, output, reasoning)`.

    `promptTokenCount` includes `cachedContentTokenCount`; `toolUsePromptTokenCount` is input beside the
    prompt; `thoughtsTokenCount` is output beside the candidates (Gemini) or inside them (see
    `output_and_reasoning`)."""
    cache_read = min(cached, prompt)
    uncached = prompt - cache_read + tool
    output, reasoning = output_and_reasoning(candidates, thoughts, total, prompt + tool)
    return uncached, cache_read, output, reasoning


_FAMILIES = (
    ("claude", "anthropic"),
    ("anthropic/", "anthropic"),
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("codex", "openai"),
    ("openai/", "openai"),
    ("gemini", "google"),
    ("google/", "google"),
    ("grok", "xai"),
    ("qwen", "alibaba"),
    ("coder-model", "alibaba"),
    ("kimi", "moonshotai"),
    ("deepseek", "deepseek"),
)


def provider_of_model(model: str, default: str) -> str:
    """The provider a model name belongs to (`claude-*` -> anthropic, `gpt-*` -> openai, `gemini-*` ->
    google, ...), else `default`: for agents whose logs name the model but not who served it."""
    lowered = model.lower()
    for prefix, provider in _FAMILIES:
        if lowered.startswith(prefix):
            return provider
    return default
