"""The life of one wrapped call after admission: headers, then exactly one settlement (ok, error,
cancelled, or estimated for a stream that broke or was abandoned).

One call, one event: the event's id is the admission's own (or `costwarden_event_id` when the caller gives
one); the provider's response id and request id (`x-request-id` / `request-id`) are stored beside it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from costwarden.core.calls import Admission, is_cancellation
from costwarden.core.recorder import Admitter
from costwarden.core.usage import EventSource, EventStatus, Usage, UsageEvent
from costwarden.estimate import TokenEstimator
from costwarden.integrations.stream_state import StreamState
from costwarden.quotas import Quotas

__all__ = ["TrackedCall", "request_id_of_error", "request_id_of_headers"]

log = logging.getLogger("costwarden.capture")


def request_id_of_headers(headers: Any) -> str | None:
    """The provider's request id header (`x-request-id`: OpenAI and most servers; `request-id`: Anthropic)."""
    if headers is None:
        return None
    try:
        value = headers.get("x-request-id") or headers.get("request-id")
    except Exception:  # a header object we do not understand never breaks the call
        return None
    return value if isinstance(value, str) and value else None


def request_id_of_error(exc: BaseException) -> tuple[str | None, Any, int | None]:
    """The provider's request id, response headers and status code carried by an SDK error, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    request_id = getattr(exc, "request_id", None)
    if request_id is None:
        request_id = request_id_of_headers(headers)
    return (
        (request_id if isinstance(request_id, str) and request_id else None),
        headers,
        (status if isinstance(status, int) else None),
    )


class TrackedCall:
    """One admitted call: records quota headers and settles exactly once."""

    def __init__(
        self,
        warden: Admitter,
        admission: Admission,
        *,
        quotas: Quotas,
        estimator: TokenEstimator,
        event_id: str | None = None,
        source: EventSource = EventSource.SDK,
    ) -> None:
        self.warden = warden
        self.source = source
        """What captured the call (`sdk` for wrapped clients, `proxy` for the gateway)."""
        self.admission = admission
        self.quotas = quotas
        self.estimator = estimator
        self.event_id = event_id
        """The caller's idempotency key (`costwarden_event_id`); None: the admission's own id."""
        self.provider_request_id: str | None = None
        self.event: UsageEvent | None = None
        self._lock = threading.Lock()
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def _claim(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True

    def release(self) -> None:
        """Give the reservation back for a call that was never sent (once; ignored after settlement)."""
        if self._claim():
            self.warden.release(self.admission)

    def headers(self, headers: Mapping[str, str] | None, status_code: int | None = None) -> None:
        """Keep the provider's request id and the rate-limit headers of a response (the latest quota)."""
        request_id = request_id_of_headers(headers)
        if request_id is not None:
            self.provider_request_id = request_id
        if headers or status_code == 429:
            self.quotas.observe(
                self.admission.provider,
                headers or {},
                account=self.admission.request.attribution.tags.get("account"),
                model=self.admission.model,
                status_code=status_code,
            )

    def settle(
        self,
        usage: Usage,
        *,
        response_id: str | None = None,
        model: str | None = None,
        service_tier: str | None = None,
        estimated: bool = False,
        status: EventStatus = EventStatus.OK,
        request_id: str | None = None,
    ) -> UsageEvent | None:
        """Record the call with its usage (once; later calls are ignored). `response_id` and `request_id`
        are the provider's (stored beside the event, not as its id)."""
        if not self._claim():
            return None
        self.event = self.warden.settle(
            self.admission,
            usage,
            event_id=self.event_id,
            status=status,
            model=model or None,
            service_tier=service_tier,
            estimated=estimated,
            provider_response_id=response_id,
            provider_request_id=request_id or self.provider_request_id,
            source=self.source,
        )
        return self.event

    def failed(self, exc: BaseException) -> None:
        """Record a call the provider refused or that never completed; the reservation is given back."""
        request_id, headers, status_code = request_id_of_error(exc)
        if headers is not None:
            try:
                self.headers(headers, status_code)
            except Exception:  # quota bookkeeping never hides the provider's error
                log.exception("could not record rate-limit headers")
        if not self._claim():
            return
        status = EventStatus.CANCELLED if is_cancellation(exc) else EventStatus.ERROR
        self.event = self.warden.fail(
            self.admission,
            status=status,
            event_id=self.event_id,
            provider_request_id=request_id or self.provider_request_id,
            source=self.source,
        )

    def settle_stream(self, state: StreamState, reason: str, exc: BaseException | None = None) -> None:
        """Settle a stream that ended (`done`), broke (`error`) or was closed or dropped (`closed`).

        Reported usage is used when the stream delivered it; otherwise the usage is estimated: the input
        from what the stream reported or the pre-call estimate, the output from the text received.
        """
        if self._done:
            return
        if state.usage is not None and (state.complete or reason != "error"):
            self.settle(
                state.usage,
                response_id=state.response_id,
                model=state.model,
                service_tier=state.service_tier,
            )
            return
        if reason == "error":
            status = EventStatus.CANCELLED if exc is not None and is_cancellation(exc) else EventStatus.ERROR
        elif reason == "closed":
            status = EventStatus.CANCELLED
        else:
            status = EventStatus.OK
        self.settle(
            self.estimated_usage(state),
            response_id=state.response_id,
            model=state.model,
            service_tier=state.service_tier,
            estimated=True,
            status=status,
        )

    def estimated_usage(self, state: StreamState) -> Usage:
        """Usage of an incomplete stream: known slices kept, missing ones estimated."""
        partial = state.usage or state.partial
        text = "".join(state.text)
        output = self.estimator.count_text(text, self.admission.model).tokens if text else 0
        if partial is not None and partial.total_input_tokens > 0:
            return Usage(
                input_tokens=partial.input_tokens,
                cache_read_tokens=partial.cache_read_tokens,
                cache_write_tokens=partial.cache_write_tokens,
                cache_write_1h_tokens=partial.cache_write_1h_tokens,
                output_tokens=max(output, partial.output_tokens),
                reasoning_tokens=min(partial.reasoning_tokens, max(output, partial.output_tokens)),
                web_search_requests=partial.web_search_requests,
            )
        reported = partial.output_tokens if partial is not None else 0
        return Usage(input_tokens=self.admission.request.input_tokens, output_tokens=max(output, reported))
