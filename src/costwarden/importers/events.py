"""Building an imported event: `source = import`, the agent's working directory as its project, and a value
the event refuses making the record malformed (skipped and counted, never a crash)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from costwarden.core.usage import Attribution, EventSource, UsageEvent
from costwarden.errors import ValidationError
from costwarden.importers.values import Malformed

__all__ = ["project_of", "agent_attribution", "imported_event"]


def project_of(place: str | None) -> str | None:
    """The project a working directory stands for: its last component (the whole text when it has none)."""
    return (PurePath(place).name or place) if place else None


def agent_attribution(
    agent: str, *, place: str | None = None, session: str | None = None, tags: Mapping[str, str] | None = None
) -> Attribution:
    """An agent's attribution: project from its working directory `place`, its session and tags."""
    return Attribution(project=project_of(place), agent=agent, session=session, tags=dict(tags or {}))


def imported_event(**fields: Any) -> UsageEvent:
    """`UsageEvent(**fields, source=import)`; a refused value raises `Malformed` with the event's message."""
    try:
        return UsageEvent(source=EventSource.IMPORT, **fields)
    except ValidationError as exc:
        raise Malformed(str(exc)) from None
