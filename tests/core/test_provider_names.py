"""Provider names as callers spell them, mapped to one name each."""

from __future__ import annotations

from costwarden.core.provider_names import PROVIDER_ALIASES, normalize_provider


def test_normalize_provider() -> None:
    assert normalize_provider(" Gemini ") == "google"
    assert normalize_provider("bedrock") == "aws"
    assert normalize_provider("Acme") == "acme"
    assert all(normalize_provider(alias) == name for alias, name in PROVIDER_ALIASES.items())
