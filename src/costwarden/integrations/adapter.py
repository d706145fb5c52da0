"""What costwarden knows about one provider's SDK: a `ProviderAdapter`.

An adapter says which client objects it recognises, which methods of them it wraps (each `Endpoint` with
the wire format it speaks), how to ask the SDK for the raw HTTP response (headers -> quotas, request id)
and how to get the parsed response back. The wire formats (`Kind`) know the request fields, where usage
and ids sit in a response, and which `StreamState` reads the stream's events.

`SdkAdapter` fills the protocol in for the usual SDK shape (the openai and anthropic SDKs, and SDKs
generated like them): a client copied with `with_options()`, `Async*` client classes, a raw-response header
whose response has `.headers`, `.status_code` and `.parse()`. A client returning its parsed response
directly sets `raw_header=None`. Register an adapter with `costwarden.integrations.providers.register`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from costwarden.integrations.kinds import Kind

__all__ = ["Endpoint", "ProviderAdapter", "SdkAdapter", "module_roots"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A method to wrap: `path` to the resource (`()`: the client itself), the method name, its wire format
    and style."""

    path: tuple[str, ...]
    method: str
    kind: Kind
    helper: bool = False
    """True for `stream(...)` helpers that send the request themselves and return a context manager."""


@runtime_checkable
class ProviderAdapter(Protocol):
    """One provider SDK, as the wrappers, the importers and the gateway see it."""

    @property
    def name(self) -> str:
        """The registry key (`openai`, `anthropic`)."""
        ...

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """The client methods that are admitted, measured and recorded."""
        ...

    @property
    def wires(self) -> Mapping[str, Kind]:
        """The wire formats by name (`chat`, `responses`, `messages`): usage blocks of logs and gateways
        are read with them."""
        ...

    @property
    def raw_header(self) -> tuple[str, str] | None:
        """The request header (name, value) that makes the SDK return its raw HTTP response; None: the
        wrapped method returns the parsed response itself (its `.headers`, if any, are read)."""
        ...

    def matches(self, client: Any) -> bool:
        """True for a client object of this SDK."""
        ...

    def default_provider(self, client: Any) -> str:
        """The provider id for pricing and budgets when `wrap(..., provider=)` is not given."""
        ...

    def copy(self, client: Any) -> Any:
        """A fresh copy of `client` to patch (the caller's client is left untouched)."""
        ...

    def is_async(self, client: Any) -> bool:
        """True when the client's methods are coroutines."""
        ...

    def parse(self, raw: Any) -> Any:
        """The parsed response of a raw response (may be awaitable for async clients)."""
        ...


def module_roots(client: Any) -> set[str]:
    """The top-level packages of the classes of `client` (`{"openai"}` for `openai.OpenAI()`)."""
    return {cls.__module__.split(".", 1)[0] for cls in type(client).__mro__}


@dataclass(frozen=True)
class SdkAdapter:
    """An adapter for SDKs shaped like openai's and anthropic's (see the module doc)."""

    name: str
    modules: frozenset[str]
    """Top-level packages whose client classes this adapter wraps."""
    endpoints: tuple[Endpoint, ...]
    wires: Mapping[str, Kind]
    raw_header: tuple[str, str] | None = None
    provider: str = ""
    """The default provider id (`name` when empty)."""
    providers_by_class: Mapping[str, str] = field(default_factory=dict)
    """Client class name -> provider id (`AzureOpenAI` -> `azure`)."""

    def matches(self, client: Any) -> bool:
        return not self.modules.isdisjoint(module_roots(client))

    def default_provider(self, client: Any) -> str:
        for cls in type(client).__mro__:
            found = self.providers_by_class.get(cls.__name__)
            if found is not None:
                return found
        return self.provider or self.name

    def copy(self, client: Any) -> Any:
        return client.with_options()

    def is_async(self, client: Any) -> bool:
        return any(cls.__name__.startswith("Async") for cls in type(client).__mro__)

    def parse(self, raw: Any) -> Any:
        return raw.parse() if self.raw_header is not None else raw
