"""The `gateway:` section of the config file: where the gateway listens, its upstreams and model aliases.

    gateway:
      port: 4000
      upstreams:
        - name: openai                    # how aliases and `upstream/model` names refer to it
          api: openai                     # the wire format it speaks: openai | anthropic
          base_url: https://api.openai.com/v1
          api_key_env: OPENAI_API_KEY     # the key is read from this variable, never stored or logged
        - name: anthropic
          api: anthropic
          base_url: https://api.anthropic.com
          api_key_env: ANTHROPIC_API_KEY
        - name: ollama
          api: openai
          base_url: http://127.0.0.1:11434/v1
          provider: ollama                # the provider id for prices and budgets (default: the name)
          models: [llama3.1]
      aliases:
        fast: openai/gpt-5-mini           # alias -> upstream/model
      mount: /gateway                     # where `costwarden serve --gateway` serves it

An upstream without `api_key_env` receives the client's own credentials (`Authorization` /
`x-api-key`), e.g. Claude Code's subscription login.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from costwarden.core.config_fields import Section

__all__ = ["API_KINDS", "GatewayConfig", "UpstreamConfig", "SERVER_PATHS"]

API_KINDS = ("openai", "anthropic")

SERVER_PATHS = ("/api", "/dashboard", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")
"""Paths `costwarden serve` answers itself: the gateway cannot be mounted on or under them."""


class UpstreamConfig(Section):
    """One server the gateway forwards to."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    api: Literal["openai", "anthropic"]
    base_url: str
    """OpenAI-style servers: the URL the OpenAI SDK takes (`.../v1`); Anthropic: the host
    (`https://api.anthropic.com`), as its SDK takes it."""
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The environment variable holding the key (None: the client's own credentials are forwarded)."""
    provider: str | None = None
    """The provider id for prices and budgets (default: `name`)."""
    models: list[str] = Field(default_factory=list)
    """Models served here; a request naming one of them goes here. Empty: any model this upstream's wire
    format is asked for, when no other upstream lists it."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra headers sent with every request (not secrets: use `api_key_env`)."""
    timeout: float = Field(default=600.0, gt=0, le=86_400)
    """Seconds an upstream request may take in total."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("models", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @property
    def provider_id(self) -> str:
        return self.provider or self.name


class GatewayConfig(Section):
    """The gateway: listening address, upstreams and model aliases."""

    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    upstreams: list[UpstreamConfig] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict)
    """A model name clients use -> `upstream/model` (or a model name routed as if the client had sent it)."""
    attribution_headers: bool = True
    """Whether `x-costwarden-project`, `-agent`, ... headers attribute calls."""
    require_key: bool = False
    """Refuse calls without a costwarden gateway key (`costwarden keys create --gateway`) with 401."""
    mount: str = "/gateway"
    """The path `costwarden serve --gateway` serves the gateway under, beside the REST API: OpenAI clients
    use `http://host:8787/gateway/v1`, Anthropic clients `http://host:8787/gateway`. With `/v1` the URLs
    are those of `costwarden gateway` (`http://host:8787/v1` and `http://host:8787`)."""

    @field_validator("upstreams", mode="before")
    @classmethod
    def _list_or_none(cls, value: object) -> object:
        return [] if value is None else value

    @field_validator("mount")
    @classmethod
    def _mount(cls, value: str) -> str:
        path = value.rstrip("/")
        if not value.startswith("/") or not path:
            raise ValueError(f"expected a path below the root such as /gateway, got {value!r}")
        if any(c in path for c in "?#%* \t") or "//" in path:
            raise ValueError(f"expected a plain path such as /gateway, got {value!r}")
        for taken in SERVER_PATHS:
            if path == taken or path.startswith(taken + "/") or taken.startswith(path + "/"):
                raise ValueError(f"{value!r} is taken by costwarden serve's own {taken}")
        return path

    @model_validator(mode="after")
    def _check(self) -> GatewayConfig:
        names = [u.name for u in self.upstreams]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(f"upstreams[{index}].name: {name!r} is used twice")
        known = set(names)
        for alias, target in self.aliases.items():
            upstream, sep, model = target.partition("/")
            if sep and upstream in known and not model:
                raise ValueError(f"aliases.{alias}: expected upstream/model, got {target!r}")
        return self
