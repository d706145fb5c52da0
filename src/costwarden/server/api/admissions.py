"""Admissions over HTTP, for agents in any language: `POST /api/v1/admissions` reserves a call's worst case
against every budget (all or nothing) and answers the route to call (provider/model, maybe a fallback) with
the admission's `id`, or refuses (429, the notice and when the budget resets). `POST
/api/v1/admissions/{id}/settle` records the call's real usage in place of the reservation, `/release` gives
it back. The `id` is the admission token (`Warden.admission_token`): signed with the database's key, so any
server on the same database settles it, after a restart too; one never settled is reclaimed when it
expires. `writer` keys; a project-restricted key admits, settles and releases in its projects only."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from costwarden.access import Role
from costwarden.core.admission_token import decode_token
from costwarden.core.calls import Admission, CallRequest
from costwarden.core.usage import Attribution, Usage, UsageEvent
from costwarden.errors import AdmissionTokenError, BudgetExceeded, ValidationError
from costwarden.reports.formats import money
from costwarden.server.api.bodies import AttributedIn, Count, Text
from costwarden.server.api.common import warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError, refusal, when
from costwarden.server.metrics import ServerMetrics
from costwarden.warden import Warden

__all__ = ["router", "AdmissionIn", "SettleIn", "ADMISSION_SCHEMA", "SETTLEMENT_SCHEMA"]

ADMISSION_SCHEMA = "costwarden.admission/1"
SETTLEMENT_SCHEMA = "costwarden.settlement/1"

router = APIRouter(tags=["write"])

Writer = Annotated[Caller, Depends(require(Role.WRITER))]
AdmissionId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=16_384,
        description="The admission's `id` as `POST /admissions` answered it (an opaque, URL-safe text).",
    ),
]

_TOKEN_ERRORS = {
    "invalid": (404, "admission_not_found"),
    "expired": (410, "admission_expired"),
    "released": (409, "admission_released"),
    "conflict": (409, "admission_conflict"),
}


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Text
    model: Text


class AdmissionIn(AttributedIn):
    """A call about to be made: where to (`provider`, `model`), how big it can get (`input_tokens`: the
    estimate of all input; `max_tokens`: the output cap, default the configured one), what a fallback must
    support (`capabilities`), which routes the caller accepts instead (`fallbacks`), and whom it serves.
    `id` becomes the id of the event it is settled as (default: a new id)."""

    model_config = ConfigDict(extra="forbid")

    provider: Text
    model: Text
    id: Text | None = None
    input_tokens: Count = 0
    max_tokens: Count | None = None
    capabilities: list[Text] = Field(default_factory=list, max_length=64)
    fallbacks: list[Route] = Field(default_factory=list, max_length=64)
    allow_fallback: bool = True
    service_tier: Text | None = None


class SettleIn(BaseModel):
    """What the call really used (the provider's usage report), its outcome, and what the provider said of
    it. `model`: the exact model the provider reported, when it differs from the route admitted."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    cache_write_1h_tokens: Count = 0
    output_tokens: Count = 0
    reasoning_tokens: Count = 0
    requests: Count = 1
    web_search_requests: Count = 0
    status: str = "ok"
    model: Text | None = None
    occurred_at: datetime | None = None
    duration_ms: Count | None = None
    estimated: bool = False
    service_tier: Text | None = None
    provider_cost: str | None = Field(
        default=None, description="USD the provider reported, as a decimal string."
    )
    provider_response_id: Text | None = None
    provider_request_id: Text | None = None


_USAGE = tuple(Usage.__dataclass_fields__)
_ATTRIBUTION = tuple(Attribution.__dataclass_fields__)


def _metrics(request: Request) -> ServerMetrics:
    metrics: ServerMetrics = request.app.state.metrics
    return metrics


def _call(caller: Caller, body: AdmissionIn) -> CallRequest:
    values = body.model_dump(include=set(_ATTRIBUTION), exclude_none=True)
    if caller.restricted and "project" not in values and len(caller.projects) == 1:
        values["project"] = caller.projects[0]
    attribution = Attribution(**values)
    caller.check_project(attribution.project)
    extra: dict[str, Any] = {} if body.id is None else {"request_id": body.id}
    return CallRequest(
        provider=body.provider,
        model=body.model,
        attribution=attribution,
        input_tokens=body.input_tokens,
        max_tokens=body.max_tokens,
        capabilities=frozenset(body.capabilities),
        fallbacks=tuple((r.provider, r.model) for r in body.fallbacks),
        allow_fallback=body.allow_fallback,
        service_tier=body.service_tier,
        **extra,
    )


def _answer(warden: Warden, admission: Admission) -> dict[str, Any]:
    token = warden.admission_token(admission)
    expires = admission.expires
    return {
        "schema": ADMISSION_SCHEMA,
        "id": token,
        "call_id": admission.request.request_id,
        "provider": admission.provider,
        "model": admission.model,
        "decision": admission.decision.value,
        "switched": admission.switched,
        "reason": admission.reason,
        "notices": list(admission.notices),
        "reserved": money(admission.reserved),
        "expires_at": when(datetime.fromtimestamp(expires, UTC)) if expires is not None else None,
    }


@router.post("/admissions", status_code=201)
def admit_route(request: Request, caller: Writer, body: AdmissionIn) -> JSONResponse:
    """Reserve a call's worst case against every budget and quota (all or nothing). 201: the route to call
    (`provider`, `model`; `switched` when a fallback was chosen, with its `reason` and `notices`) and the
    admission `id` to settle or release it with, before `expires_at`. 429: refused, with the notice,
    the budget and `resets_at` (and `Retry-After`)."""
    warden = warden_of(request)
    metrics = _metrics(request)
    call = _call(caller, body)
    started = time.perf_counter()
    try:
        admission = warden.admit(call)
    except BudgetExceeded as exc:
        metrics.admission_seconds.observe(time.perf_counter() - started)
        metrics.admissions.labels("refused").inc()
        metrics.refusals.labels(exc.budget_id).inc()
        raise refusal(exc, warden.clock.now()) from None
    metrics.admission_seconds.observe(time.perf_counter() - started)
    metrics.admissions.labels(admission.decision.value).inc()
    try:
        answer = _answer(warden, admission)
    except BaseException:
        warden.release(admission)  # no one could settle it: give it back at once
        raise
    return JSONResponse(answer, status_code=201)


def _token_error(exc: AdmissionTokenError) -> ApiError:
    status, code = _TOKEN_ERRORS.get(exc.reason, (400, "admission_invalid"))
    return ApiError(status, code, str(exc), parameter="admission_id")


def _admission(warden: Warden, caller: Caller, token: str) -> Admission:
    """The admission a token names (404 when it is not one of this database's; 403 when it serves a
    project outside a restricted key's)."""
    try:
        admission = decode_token(token, warden.backend.token_key()).admission
    except AdmissionTokenError as exc:
        raise _token_error(exc) from None
    caller.check_project(admission.request.attribution.project)
    return admission


def _details(body: SettleIn) -> dict[str, Any]:
    details: dict[str, Any] = body.model_dump(exclude=set(_USAGE), exclude_none=True)
    if not details.get("estimated"):
        details.pop("estimated", None)
    if "provider_cost" in details:
        try:
            details["provider_cost"] = Decimal(details["provider_cost"])
        except InvalidOperation:
            raise ValidationError(
                "provider_cost", f"expected a decimal number, got {body.provider_cost!r}"
            ) from None
    details["source"] = "api"
    return details


def _settled(event: UsageEvent) -> dict[str, Any]:
    return {
        "schema": SETTLEMENT_SCHEMA,
        "id": event.id,
        "provider": event.provider,
        "model": event.model,
        "status": event.status.value,
        "cost": money(event.cost.total) if event.cost is not None else None,
        "cost_source": event.cost.source.value if event.cost is not None else None,
    }


@router.post("/admissions/{admission_id}/settle")
def settle_route(
    request: Request,
    caller: Writer,
    admission_id: AdmissionId,
    body: Annotated[SettleIn | None, Body()] = None,
) -> JSONResponse:
    """Record the call's real usage in place of its reservation: the answer is the event stored (its id is
    the admission's `call_id`) and its cost. Settling again with the same usage answers the same event;
    with other usage 409. 410 once the admission expired (record the usage with `POST /events`), 409 when
    it was released, 404 for an id this database did not issue."""
    warden = warden_of(request)
    _admission(warden, caller, admission_id)
    given = body if body is not None else SettleIn()
    usage = Usage(**given.model_dump(include=set(_USAGE)))
    try:
        event = warden.settle_token(admission_id, usage, **_details(given))
    except AdmissionTokenError as exc:
        raise _token_error(exc) from None
    _metrics(request).settlements.labels("settled").inc()
    return JSONResponse(_settled(event))


@router.post("/admissions/{admission_id}/release", status_code=204)
def release_route(request: Request, caller: Writer, admission_id: AdmissionId) -> Response:
    """Give the reservation back without recording usage (the call was not made). Releasing again, or
    after settling or expiry, changes nothing (204 each time)."""
    warden = warden_of(request)
    _admission(warden, caller, admission_id)
    try:
        warden.release_token(admission_id)
    except AdmissionTokenError as exc:
        raise _token_error(exc) from None
    _metrics(request).settlements.labels("released").inc()
    return Response(status_code=204)
