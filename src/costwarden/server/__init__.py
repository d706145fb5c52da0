"""`costwarden serve`: one ASGI app (FastAPI) over one Warden: the REST API (`api/`), health and readiness,
Prometheus metrics; API keys with roles (`costwarden.access`). The app is built from routers, so a
dashboard adds its own (`create_app(warden, routers=[...])`).

Needs the `server` extra: `pip install 'costwarden[server]'`."""

from __future__ import annotations

__all__ = ["create_app", "ServerOptions"]

from costwarden.server.app import ServerOptions, create_app
