"""A wire format (`Kind`): what bounds a request's output, where a response keeps its usage, ids and text,
and which stream state reads its events. Each provider module (`costwarden.integrations.providers.*`)
defines its own; this base holds what they share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costwarden.core.usage import Usage
from costwarden.integrations.stream_state import StreamState
from costwarden.integrations.usage import field

__all__ = ["Kind", "given", "is_omitted", "positive_int"]


def is_omitted(value: object) -> bool:
    """The SDKs' `omit` / `NOT_GIVEN` sentinels stand for an argument that was not passed."""
    return type(value).__name__ in ("Omit", "NotGiven")


def given(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """`kwargs` without the arguments left at an SDK sentinel."""
    return {k: v for k, v in kwargs.items() if not is_omitted(v)}


def positive_int(value: object) -> int | None:
    """`value` when it is a non-negative int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class Kind:
    """One wire format. Subclasses fill in the field names: `max_tokens`, `usage_block`, `new_state`, and
    where their responses differ from the defaults."""

    name = "kind"

    def max_tokens(self, kwargs: Mapping[str, Any]) -> int | None:
        """The most output tokens the request can produce (None: unbounded)."""
        raise NotImplementedError

    def capabilities(self, kwargs: Mapping[str, Any]) -> set[str]:
        caps: set[str] = set()
        if kwargs.get("stream"):
            caps.add("streaming")
        if kwargs.get("tools") or kwargs.get("functions"):
            caps.add("tool_calls")
        if kwargs.get("reasoning_effort") or kwargs.get("reasoning") or kwargs.get("thinking"):
            caps.add("reasoning")
        return caps

    def usage_block(self, usage: Any) -> Usage:
        """A usage block of this format (SDK object or plain JSON) -> non-overlapping token slices."""
        raise NotImplementedError

    def usage(self, response: Any) -> Usage | None:
        """The usage a response reported (None: it reported none)."""
        usage = field(response, "usage")
        return self.usage_block(usage) if usage is not None else None

    def meta(self, response: Any) -> tuple[str | None, str | None, str | None]:
        """(response id, model, service tier) of a response."""
        rid, model, tier = field(response, "id"), field(response, "model"), field(response, "service_tier")
        return (
            rid if isinstance(rid, str) else None,
            model if isinstance(model, str) else None,
            tier if isinstance(tier, str) else None,
        )

    def request_id(self, response: Any) -> str | None:
        """The provider's request id kept on a parsed response (the SDKs keep the header in `_request_id`)."""
        request_id = getattr(response, "_request_id", None)
        return request_id if isinstance(request_id, str) and request_id else None

    def output_text(self, response: Any) -> str:
        """The text a response produced (to estimate its output when it reports no usage)."""
        return ""

    def new_state(self) -> StreamState:
        """A fresh state for one stream of this format."""
        raise NotImplementedError

    def prepare_stream(self, kwargs: dict[str, Any]) -> None:
        """Adjust the arguments of a streaming call before it is sent (nothing by default)."""
