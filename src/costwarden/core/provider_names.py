"""Provider names as callers spell them, mapped to one name each (the price catalog's provider ids).

Budgets match on these names, the price book looks models up by them, and stored events carry them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PROVIDER_ALIASES", "normalize_provider"]

PROVIDER_ALIASES: Mapping[str, str] = {
    "claude": "anthropic",
    "claude-code": "anthropic",
    "claude_code": "anthropic",
    "gpt": "openai",
    "chatgpt": "openai",
    "codex": "openai",
    "openai-responses": "openai",
    "gemini": "google",
    "google-gla": "google",
    "google-vertex": "google",
    "google_genai": "google",
    "vertex": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "bedrock": "aws",
    "aws-bedrock": "aws",
    "amazon": "aws",
    "amazon-bedrock": "aws",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "azure_ai": "azure",
    "xai": "x-ai",
    "grok": "x-ai",
    "kimi": "moonshotai",
    "moonshot": "moonshotai",
    "mistralai": "mistral",
    "together_ai": "together",
    "togetherai": "together",
    "fireworks_ai": "fireworks",
    "fireworks-ai": "fireworks",
    "zhipu": "zhipuai",
    "llama.cpp": "llamacpp",
    "lm-studio": "lmstudio",
    "lm_studio": "lmstudio",
}
"""Provider names as callers spell them -> the price catalog's provider ids (or our local provider names)."""


def normalize_provider(name: str) -> str:
    """Lower-case, trimmed, with common aliases mapped (`gemini` -> `google`, `bedrock` -> `aws`, ...)."""
    key = name.strip().lower()
    return PROVIDER_ALIASES.get(key, key)
