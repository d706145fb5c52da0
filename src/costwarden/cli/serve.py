"""`costwarden serve`: the REST API, health checks and metrics over HTTP (docs/api.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from costwarden.cli.state import state_of
from costwarden.errors import MissingExtraError

__all__ = ["register", "serve"]


def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (beyond loopback only once an API key exists)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8787,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes (share one database).")
    ] = 1,
    max_body_mb: Annotated[
        float,
        typer.Option("--max-body-mb", min=0.001, max=1024, help="Larger request bodies are refused (413)."),
    ] = 16.0,
    graceful: Annotated[
        float,
        typer.Option("--graceful-seconds", min=0, max=3600, help="How long requests in flight may finish."),
    ] = 30.0,
    log_level: Annotated[
        str, typer.Option("--log-level", help="critical, error, warning, info, debug.")
    ] = "info",
    gateway: Annotated[
        bool,
        typer.Option(
            "--gateway",
            help="Serve the OpenAI/Anthropic gateway too, under gateway.mount (default /gateway).",
        ),
    ] = False,
) -> None:
    """Serve the REST API (`/api/v1`), `/healthz`, `/readyz` and `/metrics` until Ctrl-C or SIGTERM.

    Without API keys the server listens on this machine only (loopback) and says so; create keys with
    `costwarden keys create`. SQLite by default; PostgreSQL (and Redis) when several servers share a ledger.
    With `--gateway` the gateway of the config's `gateway:` section answers under `gateway.mount`
    (`/gateway`: OPENAI_BASE_URL=http://127.0.0.1:8787/gateway/v1, ANTHROPIC_BASE_URL=http://127.0.0.1:8787/gateway).
    """
    if log_level not in ("critical", "error", "warning", "info", "debug"):
        raise typer.BadParameter(f"unknown level {log_level!r}", param_hint="--log-level")
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise MissingExtraError("fastapi and uvicorn", "server") from None
    from costwarden.server.run import ServeOptions
    from costwarden.server.run import serve as run_server

    state = state_of(ctx)
    options = ServeOptions(
        host=host,
        port=port,
        workers=workers,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        graceful_seconds=graceful,
        log_level=log_level,
        config=state.config,
        gateway=gateway,
    )
    warden = state.warden
    state._warden = None  # the server closes it on the way out
    run_server(warden, options, lambda line: state.err.print(line, markup=False))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
