"""The REST API under `/api/v1`: reads (usage and the views), writes (events, admissions), limits, keys."""

from __future__ import annotations

from fastapi import APIRouter

from costwarden.server.api import (
    admissions,
    alerts,
    channels,
    events,
    insights,
    keys,
    limit_set,
    limits,
    reads,
    usage,
)
from costwarden.server.errors import ERROR_RESPONSES

__all__ = ["api_router", "PREFIX"]

PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, responses=ERROR_RESPONSES)
    for module in (usage, reads, insights, alerts, channels, limits, limit_set, events, admissions, keys):
        router.include_router(module.router)
    return router
