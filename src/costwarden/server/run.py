"""Running the app: `serve(warden, host=..., port=...)` checks the address against the keys (no keys: loopback
only), says where it listens and how callers authenticate, and runs uvicorn until SIGINT/SIGTERM. Shutdown is
graceful: the server stops accepting, requests in flight (a queued admission, a batch being written) finish
within `graceful_seconds`, then the database is released. Admissions handed out stay valid across a restart
(their tokens are signed with the database's key); one never settled is reclaimed when its reservation
expires."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from costwarden.access import key_ring
from costwarden.config import CONFIG_ENV, DATABASE_ENV
from costwarden.core.redact import mask_url
from costwarden.errors import ConfigError
from costwarden.server.auth import is_loopback
from costwarden.warden import Warden

__all__ = ["ServeOptions", "serve", "startup_lines", "listening_socket"]


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1
    max_body_bytes: int = 16 * 1024 * 1024
    graceful_seconds: float = 30.0
    log_level: str = "info"
    config: str | None = None
    """The config file the workers read (`--workers` > 1)."""
    gateway: bool = False
    """Serve the gateway under `gateway.mount` too (`--gateway`)."""


def startup_lines(warden: Warden, options: ServeOptions) -> list[str]:
    """What `serve` says at start: where, which database, and how callers authenticate. A `ConfigError`
    (`--host`) for an address beyond loopback while no API key exists."""
    keys = len(key_ring(warden).list())
    if keys == 0 and not is_loopback(options.host):
        raise ConfigError(
            f"no API keys exist, so the server listens on loopback only (not {options.host!r}); create a key "
            "with `costwarden keys create --role admin` and call with `Authorization: Bearer <key>`",
            key="--host",
        )
    shown = f"[{options.host}]" if ":" in options.host else options.host
    lines = [f"costwarden serve: listening on http://{shown}:{options.port} ({options.workers} worker(s))"]
    database = warden.settings.database or "the default database"
    lines.append(f"costwarden serve: database {mask_url(database)}")
    if keys:
        lines.append(f"costwarden serve: {keys} API key(s) active; every request needs one")
    else:
        lines.append(
            "costwarden serve: no API keys: open to this machine only (loopback); "
            "create one with `costwarden keys create --role admin`"
        )
    if options.gateway:
        lines.extend(_gateway_lines(warden, options, f"http://{shown}:{options.port}"))
    return lines


def _gateway_lines(warden: Warden, options: ServeOptions, url: str) -> list[str]:
    """Where the gateway answers and who may call it. Beyond loopback it takes gateway keys only
    (`gateway.require_key`): the upstreams' keys are not lent to whoever reaches the port."""
    config = warden.settings.gateway
    source = warden.settings.source or "configuration"
    if not is_loopback(options.host) and not config.require_key:
        raise ConfigError(
            f"the gateway would forward calls from anyone reaching {options.host!r} with the upstreams' "
            "keys; "
            "set gateway.require_key: true and give clients keys from `costwarden keys create --gateway`",
            source=source,
            key="gateway.require_key",
        )
    from costwarden.gateway.upstream import Upstreams

    Upstreams(config, source=source)  # every upstream's key variable is set
    base = url + config.mount
    anthropic = url if config.mount == "/v1" else base
    openai = base if config.mount == "/v1" else f"{base}/v1"
    who = "gateway keys only" if config.require_key else "any caller on this machine"
    lines = [
        f"costwarden serve: gateway at {base} ({len(config.upstreams)} upstream(s); {who}): "
        f"OPENAI_BASE_URL={openai} ANTHROPIC_BASE_URL={anthropic}"
    ]
    if not config.upstreams:
        lines.append("costwarden serve: warning: no gateway upstream configured (gateway.upstreams)")
    return lines


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` whose connections send small writes at once (`TCP_NODELAY`, inherited
    by accepted connections: without it a response's body waits for the client's delayed ACK, ~40 ms)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}", key="--port") from None
    return sock


@contextmanager
def _stopped_quietly() -> Iterator[None]:
    """SIGINT and SIGTERM stop the server gracefully and the process then exits 0 (uvicorn raises the
    signal again once stopped, to whatever handler was there before it: here, one that does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)


def serve(warden: Warden, options: ServeOptions, say: Callable[[str], None]) -> None:
    """Run the server until it is told to stop (the Warden is closed on the way out)."""
    import uvicorn

    from costwarden.server.app import GATEWAY_ENV, OPTIONS_ENV, ServerOptions, create_app

    try:
        warden.ledger  # noqa: B018 - open and migrate now: a bad database fails before listening
        for line in startup_lines(warden, options):
            say(line)
        common = {
            "log_level": options.log_level,
            "timeout_graceful_shutdown": options.graceful_seconds,
            "server_header": False,
            "proxy_headers": False,
        }
        if options.workers > 1:
            if warden.backend.kind == "memory":
                raise ConfigError(
                    "several workers need a database they share, not memory://", key="--workers"
                )
            if warden.settings.database:
                os.environ[DATABASE_ENV] = warden.settings.database
            if options.config is not None:
                os.environ[CONFIG_ENV] = options.config
            os.environ[OPTIONS_ENV] = str(options.max_body_bytes)
            os.environ[GATEWAY_ENV] = "1" if options.gateway else "0"
            warden.close()
            shared = listening_socket(options.host, options.port)
            try:
                with _stopped_quietly():
                    uvicorn.run(
                        "costwarden.server.app:app_from_env",
                        factory=True,
                        fd=shared.fileno(),
                        workers=options.workers,
                        **common,  # type: ignore[arg-type]
                    )
            finally:
                shared.close()
            return
        from costwarden.dashboard import dashboard_router

        served = ServerOptions(
            max_body_bytes=options.max_body_bytes, owns_warden=True, gateway=options.gateway
        )
        app = create_app(warden, options=served, routers=[dashboard_router()])
        config = uvicorn.Config(app, host=options.host, port=options.port, **common)  # type: ignore[arg-type]
        server = uvicorn.Server(config)
        sock = listening_socket(options.host, options.port)
        try:
            with _stopped_quietly():
                server.run(sockets=[sock])
        finally:
            sock.close()
    finally:
        warden.close()
