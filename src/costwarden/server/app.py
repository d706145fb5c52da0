"""The app factory: `create_app(warden)` builds the FastAPI app of one Warden from routers (health, the
REST API, metrics, and any given, e.g. a dashboard's), with the gateway mounted at `gateway.mount` when
asked (`ServerOptions(gateway=True)`, `costwarden serve --gateway`). `app_from_env()` is the factory
`costwarden serve --workers N` hands uvicorn (each worker builds its own Warden from the same config and
database)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from costwarden._version import __version__
from costwarden.access import KeyRing, key_ring
from costwarden.server.body_limit import BodyLimit
from costwarden.server.errors import install_error_handlers
from costwarden.server.metrics import ServerMetrics
from costwarden.warden import Warden

__all__ = ["ServerOptions", "create_app", "app_from_env", "OPTIONS_ENV", "GATEWAY_ENV", "database_threads"]

OPTIONS_ENV = "COSTWARDEN_SERVE_MAX_BODY"
GATEWAY_ENV = "COSTWARDEN_SERVE_GATEWAY"
_log = logging.getLogger("costwarden.server")


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """`max_body_bytes`: larger request bodies are answered 413 (a batch of 1,000 events is ~0.5 MB)."""

    max_body_bytes: int = 16 * 1024 * 1024
    owns_warden: bool = False
    """Close the Warden when the app shuts down (the factory of `serve` builds its own)."""
    gateway: bool = False
    """Serve the gateway (docs/gateway.md) under `gateway.mount` of the Warden's settings."""
    threads: int | None = None
    """How many requests touch the database at once (the rest wait their turn, first come first served).
    None: by database (`database_threads`)."""


SQLITE_THREADS = 8
"""SQLite has one writer at a time: more threads only poll its lock, and under load a writer that keeps
losing the race waits out the busy timeout ("database is locked"). A few threads per process, queued
fairly in the event loop, keep every write within it."""
POOLED_THREADS = 5
"""PostgreSQL: SQLAlchemy's pool holds 5 connections + 10 overflow, and an admission or a settlement can
hold two or three at once (the ledger's and the budget store's): more threads than a third of the pool can
each hold one while waiting for another, until the pool's timeout answers "storage busy"."""


def database_threads(warden: Warden) -> int:
    """The default `ServerOptions.threads` of a Warden's database."""
    return SQLITE_THREADS if warden.backend.kind == "sqlite" else POOLED_THREADS


def create_app(
    warden: Warden,
    *,
    options: ServerOptions | None = None,
    ring: KeyRing | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The app over `warden`: `/healthz`, `/readyz`, `/metrics`, `/api/v1/...`, then `routers`."""
    from costwarden.server import health, metrics
    from costwarden.server.api import api_router

    opts = options or ServerOptions()
    gateway = _gateway(warden) if opts.gateway else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread
        from fastapi.concurrency import run_in_threadpool

        await run_in_threadpool(lambda: warden.ledger)  # open and migrate before the first request
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = opts.threads or database_threads(warden)
        try:
            if gateway is not None:  # a mounted app gets no lifespan of its own
                await gateway.startup()
            try:
                yield
            finally:
                if gateway is not None:
                    await gateway.aclose()
        finally:
            if opts.owns_warden:
                await run_in_threadpool(warden.close)

    app = FastAPI(
        title="costwarden",
        version=__version__,
        description="What every LLM call costs, budgets that hold, and where the money goes. docs/api.md.",
        lifespan=lifespan,
    )
    app.state.warden = warden
    app.state.ring = ring if ring is not None else key_ring(warden)
    app.state.metrics = ServerMetrics(warden)
    app.state.options = opts
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api_router())
    if gateway is not None:  # before the routers given: a dashboard may take everything under `/`
        app.mount(warden.settings.gateway.mount, gateway, name="gateway")
        app.state.gateway = gateway
    for router in routers:
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=opts.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema, with the event models that `POST /api/v1/events` reads by hand (one or a batch)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from costwarden.server.api.events import EventBatch, EventIn

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["EventIn"] = EventIn.model_json_schema(ref_template="#/components/schemas/{model}")
    batch = EventBatch.model_json_schema(ref_template="#/components/schemas/{model}")
    batch.pop("$defs", None)
    components["EventBatch"] = batch
    schemes = schema["components"].setdefault("securitySchemes", {})
    schemes["bearer"] = {"type": "http", "scheme": "bearer", "description": "An API key (costwarden keys)."}
    schema["security"] = [{"bearer": []}, {}]
    app.openapi_schema = schema
    return schema


def _gateway(warden: Warden) -> Any:
    """The gateway of the Warden's `gateway:` settings (a `ConfigError` names an upstream key not set)."""
    from costwarden.gateway.app import Gateway

    return Gateway(warden, warden.settings.gateway, source=warden.settings.source)


def app_from_env() -> FastAPI:
    """The app of the config file and database in the environment (`COSTWARDEN_CONFIG`,
    `COSTWARDEN_DATABASE_URL`), as each `serve` worker builds it."""
    import os

    from costwarden.dashboard import dashboard_router

    warden = Warden.from_config()
    given: dict[str, Any] = {"owns_warden": True, "gateway": os.environ.get(GATEWAY_ENV) == "1"}
    max_body = os.environ.get(OPTIONS_ENV)
    if max_body:
        given["max_body_bytes"] = int(max_body)
    return create_app(warden, options=ServerOptions(**given), routers=[dashboard_router()])
