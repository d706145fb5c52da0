"""Serving the gateway with uvicorn (httptools parser, uvloop when installed): in the foreground for
`costwarden gateway` (one process, or `--workers N` processes sharing the port, each with its own Warden on
the same storage), or in a background thread for tests and benchmarks (`GatewayThread`).

Workers are started by uvicorn (spawned, not forked); each builds its app with `worker_app()` from the
environment the command set: `COSTWARDEN_CONFIG` and `COSTWARDEN_DATABASE_URL`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from costwarden.errors import ConfigError, MissingExtraError
from costwarden.gateway.app import Gateway
from costwarden.gateway.config import GatewayConfig

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["GatewayThread", "listening_socket", "serve", "worker_app", "uvicorn_options"]


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError("uvicorn", "gateway") from None
    return uvicorn


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn settings of the gateway: the fastest parser and loop installed, no access log, the
    upstream's own `date` and `server` headers passed through."""
    options: dict[str, Any] = {
        "lifespan": "on",
        "access_log": False,
        "server_header": False,
        "date_header": False,
        "log_level": "warning",
        "timeout_keep_alive": 75,
    }
    try:
        import httptools  # noqa: F401

        options["http"] = "httptools"
    except ImportError:  # pragma: no cover - the pure-Python parser still works
        options["http"] = "h11"
    try:
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    except ImportError:  # pragma: no cover
        options["loop"] = "asyncio"
    return options


def worker_app() -> Gateway:
    """The app of one worker process: a Warden from the config file and database the environment names."""
    from costwarden.warden import Warden

    warden = Warden.from_config()
    return Gateway(warden, warden.settings.gateway, source=warden.settings.source)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` with `TCP_NODELAY` (inherited by accepted connections: a response's
    body is not held back waiting for the client's delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", key="--port") from None
    return sock


def serve(warden: Warden, *, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted. With `workers > 1` each worker builds its own Warden (`worker_app`)."""
    uvicorn = _uvicorn()
    options = uvicorn_options()
    sock = listening_socket(host, port)
    try:
        if workers > 1:
            warden.close()  # each worker opens its own
            uvicorn.run(
                "costwarden.gateway.server:worker_app",
                factory=True,
                fd=sock.fileno(),
                workers=workers,
                **options,
            )
            return
        app = Gateway(warden, warden.settings.gateway, source=warden.settings.source)
        uvicorn.run(app, fd=sock.fileno(), **options)
    finally:
        sock.close()


class GatewayThread:
    """The gateway serving `warden` on 127.0.0.1 (a free port) in a background thread; a context manager.

    with GatewayThread(warden, config) as gw:
        client = openai.OpenAI(base_url=gw.openai_base_url, api_key="any")
    """

    def __init__(
        self,
        warden: Any,
        config: GatewayConfig,
        *,
        environ: dict[str, str] | None = None,
        wrap: Callable[[Gateway], Any] | None = None,
    ) -> None:
        uvicorn = _uvicorn()
        self.app = Gateway(warden, config, environ=environ)
        served = wrap(self.app) if wrap is not None else self.app
        self._socket = listening_socket("127.0.0.1", 0)
        self.port: int = self._socket.getsockname()[1]
        options = uvicorn_options()
        options["loop"] = "asyncio" if options["loop"] == "uvloop" else options["loop"]
        self._server = uvicorn.Server(uvicorn.Config(served, **options))
        self._server.install_signal_handlers = lambda: None
        self._thread = threading.Thread(target=self._run, name="costwarden-gateway", daemon=True)
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            self._thread.join(0.01)
        if not self._server.started:
            self._socket.close()
            raise RuntimeError("the gateway did not start")

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (the Anthropic SDK's base URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1` (the OpenAI SDK's base URL)."""
        return f"{self.base_url}/v1"

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> GatewayThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
