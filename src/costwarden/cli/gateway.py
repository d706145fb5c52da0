"""`costwarden gateway`: serve the OpenAI- and Anthropic-compatible gateway (see docs/gateway.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from costwarden.cli.state import state_of

__all__ = ["register", "gateway"]


def gateway(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default: gateway.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=0, max=65535, help="Port to listen on (default: gateway.port, 4000)."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes sharing the port.")
    ] = 1,
    check: Annotated[
        bool, typer.Option("--check", help="Check the configuration, print the upstreams and exit.")
    ] = False,
) -> None:
    """Serve /v1/chat/completions, /v1/responses, /v1/models and /v1/messages (+ count_tokens), admitting
    every call against the budgets and forwarding it to the upstreams of the config's `gateway:` section.

    Point clients at it: OPENAI_BASE_URL=http://127.0.0.1:4000/v1, ANTHROPIC_BASE_URL=http://127.0.0.1:4000.
    """
    from costwarden.gateway.app import Gateway

    state = state_of(ctx)
    settings = state.settings
    config = settings.gateway
    app = Gateway(state.warden, config, source=settings.source)  # checks the upstreams' keys
    listen_host = host or config.host
    listen_port = config.port if port is None else port
    out = state.console
    described = app.describe()
    if not config.upstreams:
        state.err.print(
            "costwarden: warning: no upstream configured (gateway.upstreams): every call will be refused",
            markup=False,
        )
    for upstream in described["upstreams"]:
        out.print(
            f"upstream {upstream['name']}: {upstream['api']} at {upstream['base_url']} "
            f"(provider {upstream['provider']}, key {upstream['key']})",
            markup=False,
        )
    for alias, target in described["aliases"].items():
        out.print(f"alias {alias} -> {target}", markup=False)
    if check:
        return
    out.print(
        f"costwarden gateway on http://{listen_host}:{listen_port} ({workers} worker"
        f"{'s' if workers > 1 else ''}); OpenAI base URL http://{listen_host}:{listen_port}/v1",
        markup=False,
    )
    from costwarden.config import CONFIG_ENV, DATABASE_ENV
    from costwarden.gateway.server import serve

    if workers > 1:  # the workers read the same config file and database
        if settings.source:
            os.environ[CONFIG_ENV] = str(Path(settings.source).resolve())
        if settings.database:
            os.environ[DATABASE_ENV] = settings.database
    serve(state.warden, host=listen_host, port=listen_port, workers=workers)


def register(app: typer.Typer) -> None:
    app.command("gateway")(gateway)
