"""Stream helpers that return a context manager (`client.messages.stream(...)`): the call is admitted and
sent when the manager is entered; the helper's stream is then instrumented like any other stream. A
manager that is never entered reserves and sends nothing."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from costwarden.integrations.call import TrackedCall
from costwarden.integrations.streams import instrument_async_stream, instrument_stream
from costwarden.integrations.wrapper import Binding, CallPlan

__all__ = ["TrackedStreamManager", "AsyncTrackedStreamManager", "stream_helper", "async_stream_helper"]


def _raw_of(helper_stream: Any) -> Any:
    raw = getattr(helper_stream, "_raw_stream", None)
    return raw if raw is not None else helper_stream


def _open(binding: Binding, plan: CallPlan, args: tuple[Any, ...]) -> Any:
    try:
        return binding.original(plan.target)(*args, **plan.kwargs)
    except BaseException as exc:
        plan.call.failed(exc)
        raise


def _headers(call: TrackedCall, stream: Any) -> None:
    response = getattr(stream, "response", None)
    call.headers(getattr(response, "headers", None), getattr(response, "status_code", None))


class TrackedStreamManager:
    """Behaves like the SDK's stream manager (`with client.messages.stream(...) as stream:`)."""

    def __init__(self, binding: Binding, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._binding = binding
        self._args = args
        self._kwargs = kwargs
        self._manager: Any = None

    def __enter__(self) -> Any:
        plan = self._binding.plan(dict(self._kwargs), stream=True, raw=False)
        self._manager = _open(self._binding, plan, self._args)
        try:
            stream = self._manager.__enter__()
        except BaseException as exc:
            plan.call.failed(exc)
            raise
        _headers(plan.call, stream)
        instrument_stream(_raw_of(stream), plan.call, self._binding.kind.new_state())
        return stream

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        if self._manager is None:
            return None
        return self._manager.__exit__(exc_type, exc, tb)


class AsyncTrackedStreamManager:
    """Behaves like the SDK's async stream manager (`async with client.messages.stream(...) as stream:`)."""

    def __init__(self, binding: Binding, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._binding = binding
        self._args = args
        self._kwargs = kwargs
        self._manager: Any = None

    async def __aenter__(self) -> Any:
        plan = await self._binding.aplan(dict(self._kwargs), stream=True, raw=False)
        self._manager = _open(self._binding, plan, self._args)
        try:
            stream = await self._manager.__aenter__()
        except BaseException as exc:
            plan.call.failed(exc)
            raise
        _headers(plan.call, stream)
        instrument_async_stream(_raw_of(stream), plan.call, self._binding.kind.new_state())
        return stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        if self._manager is None:
            return None
        return await self._manager.__aexit__(exc_type, exc, tb)


def stream_helper(binding: Binding) -> Callable[..., Any]:
    """A sync `stream(...)` method returning a tracked context manager."""

    def stream(*args: Any, **kwargs: Any) -> TrackedStreamManager:
        return TrackedStreamManager(binding, args, kwargs)

    stream.__doc__ = getattr(type(binding.resource), binding.method).__doc__
    return stream


def async_stream_helper(binding: Binding) -> Callable[..., Any]:
    """An async client's `stream(...)` method (itself sync, returning an async context manager)."""

    def stream(*args: Any, **kwargs: Any) -> AsyncTrackedStreamManager:
        return AsyncTrackedStreamManager(binding, args, kwargs)

    stream.__doc__ = getattr(type(binding.resource), binding.method).__doc__
    return stream
