"""One proxied call: read the request, admit its worst case, forward it, pass the answer back as it
arrives, and settle exactly one event.

1. The body is read as JSON for the model, `max_tokens` / `max_output_tokens`, `stream` and the input
   estimate; the model resolves to an upstream (`routes.Router`).
2. `warden.aadmit` reserves the worst case on every budget that applies. A refusal is answered in the
   client's wire format (HTTP 429, `retry-after`, the notice); a fallback decision sends the call to the
   upstream serving the chosen provider/model.
3. The body goes upstream as the client sent it, byte for byte, unless the model name had to change or
   an OpenAI chat stream needs `stream_options.include_usage` (its usage chunk is then taken out again).
4. A plain response is passed back with the upstream's status and headers; a stream is forwarded chunk by
   chunk as it arrives. A client that hangs up mid-stream cancels the upstream request.
5. Settlement: the reported usage (or, for a broken or abandoned stream, what was used as far as known),
   the upstream's request id and rate-limit headers (read once the answer is on its way, off the event
   loop on a database); an upstream error is passed back unchanged and recorded as a failed call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costwarden.core.calls import CallRequest
from costwarden.core.usage import Attribution, EventSource, EventStatus, Usage
from costwarden.errors import BudgetExceeded, ValidationError
from costwarden.gateway.endpoints import Endpoint
from costwarden.gateway.keys import Caller, Denied, KeyCheck
from costwarden.gateway.replies import Reply, error_reply, json_reply, refusal_reply
from costwarden.gateway.routes import Router, Target, UnknownModel
from costwarden.gateway.settle import Settler
from costwarden.gateway.sse import SseReader
from costwarden.gateway.translate import Translation, Untranslatable
from costwarden.gateway.translations import translation_for
from costwarden.gateway.upstream import Upstreams, request_headers, response_headers
from costwarden.integrations.call import TrackedCall, request_id_of_headers
from costwarden.integrations.kinds import Kind
from costwarden.integrations.providers.openai import CHAT

if TYPE_CHECKING:
    import aiohttp

    from costwarden.core.recorder import Admitter

__all__ = ["Forwarder", "Send", "Receive", "send_reply"]

log = logging.getLogger("costwarden.gateway")

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]

_INCLUDE_USAGE = b',"stream_options":{"include_usage":true}}'


async def send_reply(send: Send, reply: Reply) -> None:
    await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
    await send({"type": "http.response.body", "body": reply.body, "more_body": False})


class _Disconnected(Exception):
    """The client hung up while its stream was being forwarded."""


class Forwarder:
    """Forwards calls for one gateway (one per worker process)."""

    def __init__(
        self,
        warden: Admitter,
        router: Router,
        upstreams: Upstreams,
        *,
        keys: KeyCheck,
        settler: Settler | None = None,
    ) -> None:
        self.warden = warden
        self.router = router
        self.upstreams = upstreams
        self.keys = keys
        self.settler = settler if settler is not None else Settler(threaded=False)

    # -- before the call ---------------------------------------------------------------------------------

    async def forward(
        self, endpoint: Endpoint, scope: Message, body: bytes, receive: Receive, send: Send
    ) -> None:
        api = endpoint.api
        try:
            payload = json.loads(body)
        except ValueError:
            await send_reply(send, error_reply(api, 400, "the request body is not valid JSON"))
            return
        if not isinstance(payload, dict):
            await send_reply(send, error_reply(api, 400, "the request body must be a JSON object"))
            return
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            await send_reply(send, error_reply(api, 400, "model: a model name is required"))
            return
        try:
            target = self.router.resolve(model, api)
        except UnknownModel as exc:
            await send_reply(send, error_reply(api, 404, str(exc), kind=_not_found(api)))
            return
        if target.api != api and endpoint.kind is None:  # count_tokens for a model served in the other format
            estimate = self.warden.estimator.estimate(target.model, payload)
            await send_reply(send, json_reply({"input_tokens": estimate.tokens}))
            return
        if target.api != api and self._translation(endpoint, target) is None:
            await send_reply(send, error_reply(api, 400, _untranslatable(model, endpoint, target)))
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        try:
            caller = self.keys.caller(headers)
        except ValidationError as exc:
            await send_reply(send, error_reply(api, 400, str(exc)))
            return
        except Denied as exc:
            await send_reply(send, error_reply(api, exc.status, str(exc)))
            return
        kind = endpoint.kind
        if kind is None:
            await self._passthrough(endpoint, target, scope, body, payload, model, send, caller)
            return
        stream = payload.get("stream") is True
        request = self._request(kind, target, payload, caller.attribution, stream)
        try:
            admission = await self.warden.aadmit(request)
        except BudgetExceeded as exc:
            await send_reply(send, refusal_reply(api, exc, self.warden.clock.now()))
            return
        if admission.switched:
            switched = self.router.for_route(admission.provider, admission.model, api)
            if switched is None or (switched.api != api and self._translation(endpoint, switched) is None):
                self.warden.release(admission)
                message = (
                    f"{admission.notices[0] if admission.notices else 'budget fallback'}; but the gateway "
                    f"has no upstream it can send this call to for {admission.provider}/{admission.model}"
                )
                await send_reply(send, error_reply(api, 429, message, kind=_refused(api)))
                return
            target = switched
        translation = self._translation(endpoint, target) if target.api != api else None
        call = TrackedCall(
            self.warden,
            admission,
            quotas=self.warden.quotas,
            estimator=self.warden.estimator,
            source=EventSource.PROXY,
        )
        try:
            if translation is not None:
                out = translation.request(payload, target.model)
                out_body = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
                hide_usage = False
            else:
                out_body, hide_usage = _outgoing(kind, body, payload, model, target.model, stream)
        except Untranslatable as exc:
            call.release()
            message = f"{exc} (model {target.model!r} is served by upstream {target.upstream.name!r})"
            await send_reply(send, error_reply(api, 400, message))
            return
        except BaseException:
            call.release()
            raise
        plan = _Plan(endpoint, kind, target, translation, payload, hide_usage, caller.virtual_key)
        await self._call(plan, scope, out_body, call, receive, send)

    def _translation(self, endpoint: Endpoint, target: Target) -> Translation | None:
        settings = getattr(self.warden, "settings", None)
        default = settings.estimation.default_max_tokens if settings is not None else 4096
        return translation_for(endpoint.api, endpoint.name, target.api, default)

    def _request(
        self, kind: Kind, target: Target, payload: dict[str, Any], attribution: Attribution, stream: bool
    ) -> CallRequest:
        estimate = self.warden.estimator.estimate(target.model, payload)
        caps = kind.capabilities(payload)
        if stream:
            caps.add("streaming")
        if estimate.images:
            caps.add("vision")
        tier = payload.get("service_tier")
        return CallRequest(
            provider=target.provider,
            model=target.model,
            attribution=attribution,
            input_tokens=estimate.tokens,
            max_tokens=kind.max_tokens(payload),
            capabilities=frozenset(caps),
            service_tier=tier if isinstance(tier, str) else None,
        )

    # -- the call ----------------------------------------------------------------------------------------

    async def _call(
        self, plan: _Plan, scope: Message, body: bytes, call: TrackedCall, receive: Receive, send: Send
    ) -> None:
        import aiohttp

        endpoint, upstream = plan.endpoint, plan.target.upstream
        path = plan.translation.upstream_path if plan.translation is not None else endpoint.path
        url = self.upstreams.url(upstream, path, scope.get("query_string") or b"")
        headers = request_headers(
            scope["headers"], upstream, self.upstreams.key(upstream), own_key=plan.own_key
        )
        session = await self.upstreams.session()
        try:
            response = await session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=upstream.timeout)
            )
        except BaseException as exc:
            call.failed(exc)
            if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
                await send_reply(send, _unreachable(endpoint.api, upstream.name, exc))
                return
            raise
        try:
            status = response.status
            request_id = request_id_of_headers(response.headers)
            if request_id is not None:
                call.provider_request_id = request_id
            content_type = response.headers.get("content-type", "")
            if status < 400 and content_type.startswith("text/event-stream"):
                await self._stream(plan, call, response, receive, send)
            else:
                await self._plain(plan, call, response, send)
        finally:
            response.release()

    async def _plain(
        self, plan: _Plan, call: TrackedCall, response: aiohttp.ClientResponse, send: Send
    ) -> None:
        try:
            data = await response.read()
        except BaseException as exc:
            call.failed(exc)
            raise
        status = response.status
        client_data = data if plan.translation is None else _translated(plan.translation, status, data)
        headers = response_headers(response.raw_headers)
        headers.append((b"content-length", str(len(client_data)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": client_data, "more_body": False})
        self.settler.submit(_observe_quota, call, response.headers, status)
        if status >= 400:
            self.settler.submit(call.settle, Usage(), status=EventStatus.ERROR)
        else:
            self.settler.submit(_settle_plain, plan.upstream_kind, call, data)

    async def _stream(
        self, plan: _Plan, call: TrackedCall, response: aiohttp.ClientResponse, receive: Receive, send: Send
    ) -> None:
        translator = plan.translation.stream(plan.payload) if plan.translation is not None else None
        reader = SseReader(plan.upstream_kind.new_state(), hide_usage=plan.hide_usage, translator=translator)
        headers = response_headers(response.raw_headers)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        task = asyncio.current_task()
        watch = _DisconnectWatch(receive, task)
        reason = "done"
        error: BaseException | None = None
        observed = False
        try:
            async for chunk in response.content.iter_any():
                out = reader.feed(chunk)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                if not observed:  # once the first bytes are on their way
                    observed = True
                    self.settler.submit(_observe_quota, call, response.headers, response.status)
            tail = reader.flush()
            watch.stop()
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except asyncio.CancelledError as exc:
            watch.stop()
            response.close()  # the upstream sees the connection go: it stops generating
            if watch.disconnected and task is not None:
                task.uncancel()
                reason = "closed"
            else:
                call.settle_stream(reader.state, "error", exc)
                raise
        except BaseException as exc:
            watch.stop()
            reason, error = "error", exc
            call.settle_stream(reader.state, reason, error)
            raise
        finally:
            watch.stop()
        self.settler.submit(call.settle_stream, reader.state, reason, error)

    async def _passthrough(
        self,
        endpoint: Endpoint,
        target: Target,
        scope: Message,
        body: bytes,
        payload: dict[str, Any],
        model: str,
        send: Send,
        caller: Caller,
    ) -> None:
        """`count_tokens`: nothing to admit or record; forwarded (model name rewritten if it must be)."""
        import aiohttp

        if target.model != model:
            payload["model"] = target.model
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        upstream = target.upstream
        url = self.upstreams.url(upstream, endpoint.path, scope.get("query_string") or b"")
        key = self.upstreams.key(upstream)
        headers = request_headers(scope["headers"], upstream, key, own_key=caller.virtual_key)
        session = await self.upstreams.session()
        try:
            async with session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=upstream.timeout)
            ) as response:
                data = await response.read()
                out = response_headers(response.raw_headers)
                out.append((b"content-length", str(len(data)).encode()))
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await send_reply(send, _unreachable(endpoint.api, upstream.name, exc))
            return
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": data, "more_body": False})


@dataclass(frozen=True, slots=True)
class _Plan:
    """An admitted call about to be forwarded: the client's endpoint and wire format, the target, and the
    translation when the upstream speaks the other format."""

    endpoint: Endpoint
    kind: Kind
    target: Target
    translation: Translation | None
    payload: dict[str, Any]
    hide_usage: bool
    own_key: bool
    """The client's key is a costwarden virtual key (never sent upstream)."""

    @property
    def upstream_kind(self) -> Kind:
        """The wire format of the upstream's answers (their usage is what the call is settled with)."""
        return self.translation.upstream_kind if self.translation is not None else self.kind


class _DisconnectWatch:
    """Cancels `task` when the client disconnects (until `stop()`), so a stream stops being forwarded and
    its upstream request is closed."""

    def __init__(self, receive: Receive, task: asyncio.Task[Any] | None) -> None:
        self.disconnected = False
        self._task = task
        self._watcher: asyncio.Task[None] | None = (
            asyncio.ensure_future(self._watch(receive)) if task is not None else None
        )

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
        if self._watcher is not None and self._task is not None:
            self.disconnected = True
            self._task.cancel()

    def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()


def _outgoing(
    kind: Kind, body: bytes, payload: dict[str, Any], asked: str, model: str, stream: bool
) -> tuple[bytes, bool]:
    """The body to send upstream and whether the stream's usage chunk must be hidden from the client.

    Unchanged bytes unless the model name changes (alias, `upstream/model`, fallback) or an OpenAI chat
    stream lacks `stream_options.include_usage`."""
    hide = False
    rewrite = model != asked
    if rewrite:
        payload["model"] = model
    if stream and kind is CHAT:
        options = payload.get("stream_options")
        if "stream_options" not in payload:
            hide = True
            if not rewrite:
                stripped = body.rstrip()
                if stripped.endswith(b"}") and not stripped.endswith(b"{}"):
                    return stripped[:-1] + _INCLUDE_USAGE, True
                rewrite = True
            payload["stream_options"] = {"include_usage": True}
        elif not (isinstance(options, dict) and options.get("include_usage") is True):
            hide = True
            rewrite = True
            given = options if isinstance(options, dict) else {}
            payload["stream_options"] = {**given, "include_usage": True}
    if rewrite:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(), hide
    return body, hide


def _observe_quota(call: TrackedCall, headers: Any, status: int) -> None:
    """Feed an upstream answer's rate-limit headers (and a 429) to the quotas: after the answer has gone
    out, on the settlement thread when there is one, before the call is settled."""
    try:
        call.headers(headers, status)
    except Exception:  # rate-limit bookkeeping never breaks a call
        log.exception("could not read the upstream's rate-limit headers")


def _settle_plain(kind: Kind, call: TrackedCall, data: bytes) -> None:
    """Settle a plain response: its usage, or (none reported) an estimate from its text."""
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    usage = kind.usage(parsed) if isinstance(parsed, dict) else None
    rid, model, tier = kind.meta(parsed) if isinstance(parsed, dict) else (None, None, None)
    if usage is not None:
        call.settle(usage, response_id=rid, model=model, service_tier=tier)
        return
    state = kind.new_state()
    state.response_id, state.model, state.service_tier = rid, model, tier
    text = kind.output_text(parsed) if isinstance(parsed, dict) else ""
    if text:
        state.text.append(text)
    call.settle_stream(state, "done")


def _translated(translation: Translation, status: int, data: bytes) -> bytes:
    """An upstream's plain answer (or error) in the client's wire format."""
    try:
        body = json.loads(data)
    except ValueError:
        body = data.decode("utf-8", "replace")
    if status >= 400 or not isinstance(body, dict):
        out = translation.error(status, body)
    else:
        out = translation.response(body)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()


def _untranslatable(model: str, endpoint: Endpoint, target: Target) -> str:
    return (
        f"model {model!r} is served by upstream {target.upstream.name!r}, which speaks the {target.api} "
        f"format; the gateway does not translate {endpoint.name} calls to it"
    )


def _not_found(api: str) -> str:
    return "not_found_error" if api == "anthropic" else "model_not_found"


def _refused(api: str) -> str:
    return "rate_limit_error" if api == "anthropic" else "insufficient_quota"


def _unreachable(api: str, name: str, exc: BaseException) -> Reply:
    timed_out = isinstance(exc, TimeoutError)
    what = "did not answer in time" if timed_out else f"could not be reached ({type(exc).__name__})"
    return error_reply(api, 504 if timed_out else 502, f"upstream {name!r} {what}")
