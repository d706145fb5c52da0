"""Stream helpers that return a context manager (`client.messages.stream(...)`): the request is sent when
the manager is entered; the helper's stream is then instrumented like any other stream."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

from costwarden.integrations.call import TrackedCall
from costwarden.integrations.stream_state import StreamState
from costwarden.integrations.streams import instrument_async_stream, instrument_stream
from costwarden.integrations.wrapper import Binding

__all__ = ["TrackedStreamManager", "AsyncTrackedStreamManager", "stream_helper", "async_stream_helper"]


def _release_unused(call: TrackedCall) -> None:
    call.release()


def _raw_of(helper_stream: Any) -> Any:
    raw = getattr(helper_stream, "_raw_stream", None)
    return raw if raw is not None else helper_stream


class TrackedStreamManager:
    """Wraps an SDK stream manager; behaves like it (`with ... as stream:`), other attributes pass through."""

    def __init__(self, manager: Any, call: TrackedCall, state: StreamState) -> None:
        self._manager = manager
        self._call = call
        self._state = state
        weakref.finalize(self, _release_unused, call)

    def __enter__(self) -> Any:
        try:
            stream = self._manager.__enter__()
        except BaseException as exc:
            self._call.failed(exc)
            raise
        response = getattr(stream, "response", None)
        self._call.headers(getattr(response, "headers", None), getattr(response, "status_code", None))
        instrument_stream(_raw_of(stream), self._call, self._state)
        return stream

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        return self._manager.__exit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


class AsyncTrackedStreamManager:
    """The async twin of `TrackedStreamManager` (`async with ... as stream:`)."""

    def __init__(self, manager: Any, call: TrackedCall, state: StreamState) -> None:
        self._manager = manager
        self._call = call
        self._state = state
        weakref.finalize(self, _release_unused, call)

    async def __aenter__(self) -> Any:
        try:
            stream = await self._manager.__aenter__()
        except BaseException as exc:
            self._call.failed(exc)
            raise
        response = getattr(stream, "response", None)
        self._call.headers(getattr(response, "headers", None), getattr(response, "status_code", None))
        instrument_async_stream(_raw_of(stream), self._call, self._state)
        return stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        return await self._manager.__aexit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


def stream_helper(binding: Binding) -> Callable[..., Any]:
    """A sync `stream(...)` method: admit now, send on `__enter__`."""

    def stream(*args: Any, **kwargs: Any) -> TrackedStreamManager:
        plan = binding.plan(kwargs, stream=True, raw=False)
        try:
            manager = binding.original(plan.target)(*args, **plan.kwargs)
        except BaseException as exc:
            plan.call.failed(exc)
            raise
        return TrackedStreamManager(manager, plan.call, binding.kind.new_state())

    stream.__doc__ = getattr(type(binding.resource), binding.method).__doc__
    return stream


def async_stream_helper(binding: Binding) -> Callable[..., Any]:
    """An async client's `stream(...)` method (itself sync, returning an async context manager)."""

    def stream(*args: Any, **kwargs: Any) -> AsyncTrackedStreamManager:
        plan = binding.plan(kwargs, stream=True, raw=False)
        try:
            manager = binding.original(plan.target)(*args, **plan.kwargs)
        except BaseException as exc:
            plan.call.failed(exc)
            raise
        return AsyncTrackedStreamManager(manager, plan.call, binding.kind.new_state())

    stream.__doc__ = getattr(type(binding.resource), binding.method).__doc__
    return stream
