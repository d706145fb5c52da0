"""The upstream side: one pooled HTTP client (aiohttp, keep-alive connections) for every upstream, the
URL and headers of a forwarded request, and the headers of a response passed back.

Keys come from the environment variable each upstream names (`api_key_env`), read once when the gateway
starts; they are sent upstream and nowhere else (never stored, never logged). An upstream without one
gets the client's own credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from costwarden.errors import ConfigError, MissingExtraError
from costwarden.gateway.config import GatewayConfig, UpstreamConfig

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Upstreams", "request_headers", "response_headers", "HOP_BY_HOP"]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
_CREDENTIALS = frozenset({b"authorization", b"x-api-key"})
_DROP_REQUEST = HOP_BY_HOP | {b"accept-encoding"}
_DROP_RESPONSE = HOP_BY_HOP | {b"content-encoding"}
ANTHROPIC_VERSION = "2023-06-01"


def request_headers(
    client: Iterable[tuple[bytes, bytes]], upstream: UpstreamConfig, key: str | None, *, own_key: bool = False
) -> list[tuple[str, str]]:
    """The headers sent upstream: the client's, less hop-by-hop ones, `x-costwarden-*` and the client's
    credentials when the upstream has its own key or the client's key is costwarden's (`own_key`); then
    the upstream's key and extra headers."""
    out: list[tuple[str, str]] = []
    has_version = False
    for name, value in client:
        if name in _DROP_REQUEST or name.startswith(b"x-costwarden-"):
            continue
        if (key is not None or own_key) and name in _CREDENTIALS:
            continue
        if name == b"anthropic-version":
            has_version = True
        out.append((name.decode("latin-1"), value.decode("latin-1")))
    if key is not None:
        if upstream.api == "anthropic":
            out.append(("x-api-key", key))
        else:
            out.append(("authorization", f"Bearer {key}"))
    if upstream.api == "anthropic" and not has_version:
        out.append(("anthropic-version", ANTHROPIC_VERSION))
    out.extend(upstream.headers.items())
    return out


def response_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An upstream response's headers for the client: hop-by-hop ones, the length and the encoding are
    dropped (the body is passed on decoded, with its own length or chunked)."""
    return [(name.lower(), value) for name, value in raw if name.lower() not in _DROP_RESPONSE]


class Upstreams:
    """The upstreams' keys and the shared HTTP client (created on first use inside the event loop)."""

    def __init__(
        self, config: GatewayConfig, environ: Mapping[str, str] | None = None, *, source: str | None = None
    ) -> None:
        env = os.environ if environ is None else environ
        self.config = config
        self.keys: dict[str, str | None] = {}
        for index, upstream in enumerate(config.upstreams):
            if upstream.api_key_env is None:
                self.keys[upstream.name] = None
                continue
            value = env.get(upstream.api_key_env, "").strip()
            if not value:
                raise ConfigError(
                    f"upstream {upstream.name!r} takes its key from "
                    f"${upstream.api_key_env}, which is not set",
                    source=source or "configuration",
                    key=f"gateway.upstreams[{index}].api_key_env",
                )
            self.keys[upstream.name] = value
        self._session: aiohttp.ClientSession | None = None

    def key(self, upstream: UpstreamConfig) -> str | None:
        return self.keys.get(upstream.name)

    @staticmethod
    def url(upstream: UpstreamConfig, path: str, query: bytes) -> str:
        """`base_url` + the endpoint's path (OpenAI base URLs end in `/v1`; Anthropic's are the host)."""
        url = upstream.base_url + path
        return f"{url}?{query.decode('latin-1')}" if query else url

    async def session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            session = self._session = _new_session()
        return session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _new_session() -> aiohttp.ClientSession:
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - the gateway extra is missing
        raise MissingExtraError("aiohttp", "gateway") from None
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
    kwargs: dict[str, Any] = {
        "connector": connector,
        "auto_decompress": True,
        "skip_auto_headers": ("User-Agent",),
        "timeout": aiohttp.ClientTimeout(total=None, sock_connect=30),
        "cookie_jar": aiohttp.DummyCookieJar(),  # one client's cookies never ride on another client's call
    }
    return aiohttp.ClientSession(**kwargs)
