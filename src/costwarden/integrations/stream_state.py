"""What a stream told us so far: ids, model, the final usage (once reported) and the text received (to
estimate the output of a stream that never reports its usage). Each wire format reads its own events in a
subclass (see `costwarden.integrations.providers`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costwarden.core.usage import Usage
from costwarden.integrations.usage import field as get

__all__ = ["StreamState"]


@dataclass
class StreamState:
    """Base: `usage` is set once the provider reported the final usage (`complete`)."""

    usage: Usage | None = None
    partial: Usage | None = None
    complete: bool = False
    response_id: str | None = None
    model: str | None = None
    service_tier: str | None = None
    text: list[str] = field(default_factory=list)
    in_next: bool = False

    def observe(self, item: Any) -> None:
        """Read one chunk or event of the stream."""
        raise NotImplementedError

    def add_text(self, value: Any) -> None:
        """Keep a piece of output text (ignored unless a non-empty string)."""
        if isinstance(value, str) and value:
            self.text.append(value)

    def take_ids(self, obj: Any) -> None:
        """Keep the response id, model and service tier found on `obj`."""
        response_id = get(obj, "id")
        if isinstance(response_id, str) and response_id:
            self.response_id = response_id
        model = get(obj, "model")
        if isinstance(model, str) and model:
            self.model = model
        tier = get(obj, "service_tier")
        if isinstance(tier, str) and tier:
            self.service_tier = tier
