"""The gateway as a plain ASGI app (no framework on the hot path): routes requests to the proxied
endpoints, the model list and a health check; opens and closes the upstream client with the lifespan.

    app = Gateway(warden, settings.gateway)      # serve with uvicorn, or mount it in another ASGI app
"""

from __future__ import annotations

import logging
from typing import Any

from costwarden.core.recorder import Admitter
from costwarden.gateway.calls import Forwarder, Message, Receive, Send, send_reply
from costwarden.gateway.config import GatewayConfig
from costwarden.gateway.endpoints import ENDPOINTS, MODELS_PATHS
from costwarden.gateway.keys import KeyCheck
from costwarden.gateway.replies import Reply, error_reply, models_reply
from costwarden.gateway.routes import Router
from costwarden.gateway.settle import Settler
from costwarden.gateway.upstream import Upstreams

__all__ = ["Gateway", "MAX_BODY"]

log = logging.getLogger("costwarden.gateway")

MAX_BODY = 64 * 1024 * 1024
"""The largest request body accepted (64 MiB: a long conversation with images stays far below)."""

_HEALTH = Reply(200, [(b"content-type", b"application/json"), (b"content-length", b"15")], b'{"status":"ok"}')


def _client_api(scope: Message) -> str:
    """`anthropic` for a client that sends Anthropic's headers, else `openai`."""
    for name, _ in scope["headers"]:
        if name in (b"anthropic-version", b"x-api-key"):
            return "anthropic"
    return "openai"


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    parts = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _TooLarge  # nothing to answer to
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        parts.append(chunk)
    return b"".join(parts)


class Gateway:
    """The ASGI app of `costwarden gateway` for one Warden (one per worker process)."""

    def __init__(
        self,
        warden: Admitter,
        config: GatewayConfig,
        *,
        environ: dict[str, str] | None = None,
        source: str | None = None,
    ) -> None:
        self.warden = warden
        self.config = config
        self.router = Router(config)
        self.upstreams = Upstreams(config, environ, source=source)
        backend = getattr(warden, "backend", None)
        self.settler = Settler(threaded=getattr(backend, "kind", "memory") != "memory")
        keys = KeyCheck(warden, require=config.require_key, use_headers=config.attribution_headers)
        self.forwarder = Forwarder(warden, self.router, self.upstreams, keys=keys, settler=self.settler)

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Message, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        root: str = scope.get("root_path") or ""
        if root and path.startswith(root):  # mounted under a prefix in another ASGI app (`/gateway/v1/...`)
            path = path[len(root) :]
        method: str = scope["method"]
        endpoint = ENDPOINTS.get(path)
        if endpoint is not None:
            if method != "POST":
                await send_reply(send, error_reply(endpoint.api, 405, f"{path} takes POST"))
                return
            try:
                body = await _read_body(receive)
            except _TooLarge:
                await send_reply(send, error_reply(endpoint.api, 413, "the request body is too large"))
                return
            await self.forwarder.forward(endpoint, scope, body, receive, send)
            return
        api = _client_api(scope)
        if path in MODELS_PATHS and method == "GET":
            await send_reply(send, models_reply(api, self.router.models()))
        elif path in ("/health", "/healthz") and method == "GET":
            await send_reply(send, _HEALTH)
        else:
            await send_reply(send, error_reply(api, 404, f"the gateway has no endpoint {method} {path}"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Load the tokenizers and open the upstream client. Its own lifespan does this; an app mounting
        the gateway calls `startup()` and `aclose()` from its lifespan (mounted apps get none)."""
        self.warm_up()
        await self.upstreams.session()

    def warm_up(self) -> None:
        """Load the tokenizers now rather than in the first call."""
        self.warden.estimator.count_text("warm up", "gpt-4o")
        self.warden.estimator.count_text("warm up", "claude-sonnet-4-5")

    async def aclose(self) -> None:
        """Close the upstream connections and wait for pending settlements (the Warden is the caller's)."""
        await self.upstreams.close()
        self.settler.close()

    def describe(self) -> dict[str, Any]:
        """What the gateway serves (for start-up output): upstream names, formats and URLs, no keys."""
        return {
            "upstreams": [
                {
                    "name": u.name,
                    "api": u.api,
                    "base_url": u.base_url,
                    "provider": u.provider_id,
                    "key": f"${u.api_key_env}" if u.api_key_env else "client's own",
                }
                for u in self.config.upstreams
            ],
            "aliases": dict(self.config.aliases),
        }
