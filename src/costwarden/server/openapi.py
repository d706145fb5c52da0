"""The API's OpenAPI schema as checked in (docs/openapi.json): `python -m costwarden.server.openapi >
docs/openapi.json` writes it; a test fails when the served schema drifts from it."""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["openapi_schema", "render"]


def openapi_schema() -> dict[str, Any]:
    """The schema of the app as `costwarden serve` builds it (over a database in memory)."""
    from costwarden.config import Settings
    from costwarden.server.app import create_app
    from costwarden.warden import Warden

    with Warden(Settings(database="memory://")) as warden:
        return create_app(warden).openapi()


def render() -> str:
    return json.dumps(openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
