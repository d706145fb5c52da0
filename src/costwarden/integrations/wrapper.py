"""Patch the call methods of an SDK client copy so that every call is admitted, measured and settled.

`Binding` wraps one method (e.g. `chat.completions.create`) of one resource object. Each call:

1. strips the `costwarden_*` keywords, estimates the input tokens and asks `warden.admit(...)`;
2. honours a fallback decision (another model, or another provider's client given to `wrap`);
3. sends the request through the SDK asking for the raw response when its adapter can (headers -> quotas);
4. settles with the usage the provider reported, or instruments the stream to settle when it ends;
5. on an SDK error records the call as failed (reservation released) and re-raises.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from costwarden.core.calls import Admission, CallRequest
from costwarden.core.recorder import Admitter
from costwarden.errors import CostwardenError
from costwarden.estimate import TokenEstimator
from costwarden.integrations.adapter import ProviderAdapter
from costwarden.integrations.call import TrackedCall
from costwarden.integrations.kinds import Kind, given
from costwarden.integrations.options import CallOptions, WrapOptions, pop_call_options
from costwarden.integrations.streams import instrument_async_stream, instrument_stream
from costwarden.quotas import Quotas

__all__ = ["FallbackUnavailable", "Context", "Binding", "CallPlan", "resolve"]

_MATERIALIZE = ("messages", "input", "tools", "system")


class FallbackUnavailable(CostwardenError):
    """Admission chose a provider this wrapped client cannot reach (no client given for it)."""


def resolve(client: Any, path: tuple[str, ...]) -> Any:
    """`client.chat.completions` for `path == ("chat", "completions")`."""
    obj = client
    for name in path:
        obj = getattr(obj, name)
    return obj


@dataclass
class Context:
    """What every binding of one wrapped client shares."""

    warden: Admitter
    options: WrapOptions
    adapter: ProviderAdapter
    """The provider SDK the client belongs to (raw responses, parsing, endpoints)."""

    @property
    def quotas(self) -> Quotas:
        return self.warden.quotas

    @property
    def estimator(self) -> TokenEstimator:
        return self.warden.estimator


@dataclass(frozen=True, slots=True)
class _Extra:
    options: CallOptions
    stream: bool


@dataclass
class CallPlan:
    """A call admitted and ready to send."""

    kwargs: dict[str, Any]
    call: TrackedCall
    target: Any
    stream: bool
    wants_raw: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Binding:
    """One wrapped method of one resource (`resource.method`) speaking `kind`."""

    def __init__(self, ctx: Context, resource: Any, path: tuple[str, ...], method: str, kind: Kind) -> None:
        self.ctx = ctx
        self.resource = resource
        self.path = path
        self.method = method
        self.kind = kind

    # -- before the call ---------------------------------------------------------------------------------

    def request(self, kwargs: dict[str, Any], *, stream: bool | None = None) -> tuple[CallRequest, _Extra]:
        """Strip the `costwarden_*` options from `kwargs` and describe the call for admission."""
        ctx = self.ctx
        options = pop_call_options(kwargs, ctx.options)
        for name in _MATERIALIZE:
            value = kwargs.get(name)
            if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping | list | tuple):
                kwargs[name] = list(value)
        view = given(kwargs)
        model = view.get("model")
        if not isinstance(model, str) or not model:
            raise TypeError(f"{'.'.join(self.path)}.{self.method}() needs a model name")
        is_stream = bool(view.get("stream")) if stream is None else stream
        estimate = ctx.estimator.estimate(model, view)
        caps = self.kind.capabilities(view) | set(options.capabilities)
        if is_stream:
            caps.add("streaming")
        if estimate.images:
            caps.add("vision")
        tier = view.get("service_tier")
        request = CallRequest(
            provider=ctx.options.provider,
            model=model,
            attribution=options.attribution,
            input_tokens=estimate.tokens,
            max_tokens=self.kind.max_tokens(view),
            capabilities=frozenset(caps),
            fallbacks=tuple(f for f in options.fallbacks if self._routable(f[0])),
            allow_fallback=options.allow_fallback,
            service_tier=tier if isinstance(tier, str) else None,
        )
        return request, _Extra(options, is_stream)

    def admitted(
        self, kwargs: dict[str, Any], admission: Admission, extra: _Extra, *, raw: bool = True
    ) -> CallPlan:
        """Apply an admission to the call: fallback target and model, stream usage, raw response header."""
        ctx = self.ctx
        is_stream = extra.stream
        try:
            target = self.resource
            if admission.switched:
                target = self._target(admission.provider)
                kwargs["model"] = admission.model
            if is_stream:
                self.kind.prepare_stream(kwargs)
            wants_raw: str | None = None
            raw_header = ctx.adapter.raw_header
            if raw and raw_header is not None:
                name, value = raw_header
                headers = dict(kwargs.get("extra_headers") or {})
                wants_raw = headers.get(name)
                if wants_raw is None:
                    headers[name] = value
                kwargs["extra_headers"] = headers
        except BaseException:
            ctx.warden.release(admission)
            raise
        call = TrackedCall(
            ctx.warden, admission, quotas=ctx.quotas, estimator=ctx.estimator, event_id=extra.options.event_id
        )
        return CallPlan(kwargs=kwargs, call=call, target=target, stream=is_stream, wants_raw=wants_raw)

    def plan(self, kwargs: dict[str, Any], *, stream: bool | None = None, raw: bool = True) -> CallPlan:
        """Admit a call (blocking while a budget queue holds it) and prepare it for sending."""
        request, extra = self.request(kwargs, stream=stream)
        return self.admitted(kwargs, self.ctx.warden.admit(request), extra, raw=raw)

    async def aplan(
        self, kwargs: dict[str, Any], *, stream: bool | None = None, raw: bool = True
    ) -> CallPlan:
        """`plan` for async clients: a queued admission waits without blocking the event loop."""
        request, extra = self.request(kwargs, stream=stream)
        admission = await self.ctx.warden.aadmit(request)
        return self.admitted(kwargs, admission, extra, raw=raw)

    def _routable(self, provider: str) -> bool:
        return provider == self.ctx.options.provider or provider in self.ctx.options.clients

    def _target(self, provider: str) -> Any:
        if provider == self.ctx.options.provider:
            return self.resource
        client = self.ctx.options.clients.get(provider)
        if client is None:
            raise FallbackUnavailable(f"admission chose provider {provider!r} but no client was given for it")
        return resolve(client, self.path)

    def original(self, target: Any, method: str | None = None) -> Callable[..., Any]:
        """The SDK's own method on `target`, bypassing any instance-level patch."""
        return getattr(type(target), method or self.method).__get__(target)  # type: ignore[no-any-return]

    # -- after the call ----------------------------------------------------------------------------------

    def settle_parsed(self, plan: CallPlan, parsed: Any) -> None:
        call = plan.call
        usage = self.kind.usage(parsed)
        rid, model, tier = self.kind.meta(parsed)
        request_id = self.kind.request_id(parsed)
        if request_id is not None and call.provider_request_id is None:
            call.provider_request_id = request_id
        if usage is not None:
            call.settle(usage, response_id=rid, model=model, service_tier=tier)
            return
        state = self.kind.new_state()
        state.response_id, state.model, state.service_tier = rid, model, tier
        text = self.kind.output_text(parsed)
        if text:
            state.text.append(text)
        call.settle_stream(state, "done")

    def take(self, plan: CallPlan, raw: Any) -> Any:
        """Sync: read headers, settle or instrument, and return what the caller asked for."""
        plan.call.headers(getattr(raw, "headers", None), getattr(raw, "status_code", None))
        if plan.wants_raw == "stream":
            return _defer(self, plan, raw)
        parsed = self.ctx.adapter.parse(raw)
        if plan.stream:
            instrument_stream(parsed, plan.call, self.kind.new_state())
        else:
            self.settle_parsed(plan, parsed)
        return raw if plan.wants_raw else parsed

    async def atake(self, plan: CallPlan, raw: Any) -> Any:
        """Async: as `take`; the async SDK's `parse()` may be a coroutine."""
        plan.call.headers(getattr(raw, "headers", None), getattr(raw, "status_code", None))
        if plan.wants_raw == "stream":
            return _adefer(self, plan, raw)
        parsed = self.ctx.adapter.parse(raw)
        if inspect.isawaitable(parsed):
            parsed = await parsed
        if plan.stream:
            instrument_async_stream(parsed, plan.call, self.kind.new_state())
        else:
            self.settle_parsed(plan, parsed)
        return raw if plan.wants_raw else parsed

    # -- the patched methods -----------------------------------------------------------------------------

    def sync_method(self) -> Callable[..., Any]:
        original_name = self.method

        @functools.wraps(getattr(type(self.resource), original_name))
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            plan = self.plan(kwargs)
            try:
                raw = self.original(plan.target)(*args, **plan.kwargs)
            except BaseException as exc:
                plan.call.failed(exc)
                raise
            return self.take(plan, raw)

        return wrapped

    def async_method(self) -> Callable[..., Any]:
        original_name = self.method

        @functools.wraps(getattr(type(self.resource), original_name))
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            plan = await self.aplan(kwargs)
            try:
                raw = await self.original(plan.target)(*args, **plan.kwargs)
            except BaseException as exc:
                plan.call.failed(exc)
                raise
            return await self.atake(plan, raw)

        return wrapped


def _defer(binding: Binding, plan: CallPlan, raw: Any) -> Any:
    """`with_streaming_response`: settle when the caller parses the body, or estimated when it closes."""
    parse, close = raw.parse, raw.close
    seen = [False]

    def parse_tracked(*args: Any, **kwargs: Any) -> Any:
        parsed = parse(*args, **kwargs)
        if plan.call.done or seen[0] or args or kwargs:
            return parsed
        seen[0] = True
        if plan.stream:
            instrument_stream(parsed, plan.call, binding.kind.new_state())
        else:
            binding.settle_parsed(plan, parsed)
        return parsed

    def close_tracked() -> None:
        try:
            close()
        finally:
            if not plan.call.done and not seen[0]:
                plan.call.settle_stream(binding.kind.new_state(), "closed")

    raw.parse, raw.close = parse_tracked, close_tracked
    return raw


def _adefer(binding: Binding, plan: CallPlan, raw: Any) -> Any:
    parse, close = raw.parse, raw.close
    seen = [False]

    async def parse_tracked(*args: Any, **kwargs: Any) -> Any:
        parsed = await parse(*args, **kwargs)
        if plan.call.done or seen[0] or args or kwargs:
            return parsed
        seen[0] = True
        if plan.stream:
            instrument_async_stream(parsed, plan.call, binding.kind.new_state())
        else:
            binding.settle_parsed(plan, parsed)
        return parsed

    async def close_tracked() -> None:
        try:
            await close()
        finally:
            if not plan.call.done and not seen[0]:
                plan.call.settle_stream(binding.kind.new_state(), "closed")

    raw.parse, raw.close = parse_tracked, close_tracked
    return raw
