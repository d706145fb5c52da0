"""What the write API's request bodies share: bounded counts and texts, and a call's attribution."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Count", "Text", "AttributedIn"]

Count = Annotated[int, Field(ge=0, le=10**12)]
Text = Annotated[str, Field(min_length=1, max_length=1024)]


class AttributedIn(BaseModel):
    """Who and what a call was for (the fields of `Attribution`); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    project: Text | None = None
    agent: Text | None = None
    session: Text | None = None
    run: Text | None = None
    task: Text | None = None
    task_type: Text | None = None
    plan: Text | None = None
    user: Text | None = None
    tags: dict[str, str] | None = None
