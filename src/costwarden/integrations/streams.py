"""Instrument an SDK stream object in place, so it keeps its type and every method.

The stream's item iterator is replaced by one that shows each item to a `StreamState`; closing the
HTTP response from outside an iteration step (the caller's `close()`, a `with` block, an SDK stream
helper) settles the call; a stream dropped without being closed is settled when it is collected.

End of a stream -> `done`; an exception from the provider or the connection -> `error`; closed or
dropped before the end -> `closed`. See `TrackedCall.settle_stream` for what each records.
"""

from __future__ import annotations

import logging
import sys
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

from costwarden.core.calls import is_cancellation
from costwarden.integrations.call import TrackedCall
from costwarden.integrations.stream_state import StreamState

__all__ = ["instrument_stream", "instrument_async_stream"]

log = logging.getLogger("costwarden.capture")


def _finish(call: TrackedCall, state: StreamState, reason: str, exc: BaseException | None = None) -> None:
    try:
        call.settle_stream(state, "closed" if reason == "dropped" else reason, exc)
    except Exception:
        if reason == "dropped":
            log.exception("could not record an abandoned stream")
            return
        raise


def _on_close(call: TrackedCall, state: StreamState) -> None:
    """The HTTP response is being closed: from inside an iteration step the iterator settles, else we do."""
    if state.in_next or call.done:
        return
    exc = sys.exc_info()[1]
    if exc is not None and not isinstance(exc, GeneratorExit):
        _finish(call, state, "error", exc)
    else:
        _finish(call, state, "closed")


def _observe(inner: Iterator[Any], call: TrackedCall, state: StreamState) -> Iterator[Any]:
    try:
        while True:
            state.in_next = True
            try:
                item = next(inner)
            except StopIteration:
                state.in_next = False
                _finish(call, state, "done")
                return
            finally:
                state.in_next = False
            state.observe(item)
            yield item
    except GeneratorExit:
        try:
            _finish(call, state, "closed")
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()
        raise
    except BaseException as exc:
        _finish(call, state, "error", exc)
        raise


async def _aobserve(inner: AsyncIterator[Any], call: TrackedCall, state: StreamState) -> AsyncIterator[Any]:
    try:
        while True:
            state.in_next = True
            try:
                item = await inner.__anext__()
            except StopAsyncIteration:
                state.in_next = False
                _finish(call, state, "done")
                return
            finally:
                state.in_next = False
            state.observe(item)
            yield item
    except GeneratorExit:
        try:
            _finish(call, state, "closed")
        finally:
            aclose = getattr(inner, "aclose", None)
            if aclose is not None:
                await aclose()
        raise
    except BaseException as exc:
        _finish(call, state, "closed" if is_cancellation(exc) else "error", exc)
        raise


def _hook_close(response: Any, call: TrackedCall, state: StreamState) -> None:
    original: Callable[[], None] = response.close

    def close() -> None:
        try:
            original()
        finally:
            _on_close(call, state)

    response.close = close


def _hook_aclose(response: Any, call: TrackedCall, state: StreamState) -> None:
    original: Callable[[], Coroutine[Any, Any, None]] = response.aclose

    async def aclose() -> None:
        try:
            await original()
        finally:
            _on_close(call, state)

    response.aclose = aclose


def instrument_stream(stream: Any, call: TrackedCall, state: StreamState) -> Any:
    """Make a sync SDK `Stream` report to `call`; returns the same object."""
    inner = stream._iterator
    stream._iterator = _observe(inner, call, state)
    response = getattr(stream, "response", None)
    if response is not None:
        _hook_close(response, call, state)
    weakref.finalize(stream, _finish, call, state, "dropped")
    return stream


def instrument_async_stream(stream: Any, call: TrackedCall, state: StreamState) -> Any:
    """Make an async SDK `AsyncStream` report to `call`; returns the same object."""
    inner = stream._iterator
    stream._iterator = _aobserve(inner, call, state)
    response = getattr(stream, "response", None)
    if response is not None:
        _hook_aclose(response, call, state)
    weakref.finalize(stream, _finish, call, state, "dropped")
    return stream
