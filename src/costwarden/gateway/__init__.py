"""`costwarden gateway`: an OpenAI- and Anthropic-compatible proxy that admits every call against the
budgets before forwarding it to a configured upstream, and records one event per call.

    from costwarden.gateway import build_app
    app = build_app(warden)              # an ASGI app; `costwarden gateway` serves it with uvicorn

The package imports nothing heavy on import (`config` is read by `costwarden.config`); the ASGI app, the
upstream client (aiohttp) and the server (uvicorn) load when asked for. See docs/gateway.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costwarden.gateway.config import GatewayConfig, UpstreamConfig

if TYPE_CHECKING:
    from costwarden.gateway.app import Gateway

__all__ = ["GatewayConfig", "UpstreamConfig", "build_app"]


def build_app(warden: Any, config: GatewayConfig | None = None) -> Gateway:
    """The gateway's ASGI app for `warden` (its settings' `gateway:` section unless `config` is given)."""
    from costwarden.gateway.app import Gateway

    return Gateway(warden, config if config is not None else warden.settings.gateway)
