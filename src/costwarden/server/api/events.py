"""`POST /api/v1/events`: record usage from any language, one event or a batch, priced on arrival.

Idempotent by event id (the same id again is stored once; give ids to retry safely). Each event is checked
on its own: a bad one is reported (its index, id, field and why) and the good ones are stored."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from costwarden.access import Role
from costwarden.core.usage import UsageEvent
from costwarden.errors import CostwardenError, ValidationError
from costwarden.reports.formats import money
from costwarden.server.api.bodies import AttributedIn, Count, Text
from costwarden.server.api.common import warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError
from costwarden.warden import Warden

__all__ = ["router", "EventIn", "INGEST_SCHEMA", "MAX_BATCH"]

INGEST_SCHEMA = "costwarden.ingest/1"
MAX_BATCH = 10_000

router = APIRouter(tags=["write"])


class EventIn(AttributedIn):
    """One call's usage. `provider`, `model` and the token counts are what it is priced from; `id` makes a
    retry idempotent (default: a new id); `occurred_at` defaults to arrival (ISO 8601 with an offset)."""

    model_config = ConfigDict(extra="forbid")

    provider: Text
    model: Text
    id: Text | None = None
    occurred_at: datetime | None = None
    input_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    cache_write_1h_tokens: Count = 0
    output_tokens: Count = 0
    reasoning_tokens: Count = 0
    requests: Count = 1
    web_search_requests: Count = 0
    source: str = "api"
    status: str = "ok"
    duration_ms: Count | None = None
    service_tier: Text | None = None
    provider_cost: str | None = Field(
        default=None, description="USD the provider reported, as a decimal string."
    )
    provider_response_id: Text | None = None
    provider_request_id: Text | None = None


class EventBatch(BaseModel):
    events: list[EventIn] = Field(max_length=MAX_BATCH)


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/EventIn"},
                        {"$ref": "#/components/schemas/EventBatch"},
                    ]
                }
            }
        },
    }
}


def _error(index: int, item: Any, field: str | None, message: str, code: str = "invalid") -> dict[str, Any]:
    given = item.get("id") if isinstance(item, dict) else None
    return {
        "index": index,
        "id": given if isinstance(given, str) else None,
        "code": code,
        "field": field,
        "message": message,
    }


def _event(warden: Warden, caller: Caller, item: Any) -> UsageEvent:
    fields = EventIn.model_validate(item).model_dump(exclude_none=True)
    if "provider_cost" in fields:
        try:
            fields["provider_cost"] = Decimal(fields["provider_cost"])
        except InvalidOperation:
            raise ValidationError(
                "provider_cost", f"expected a decimal number, got {item['provider_cost']!r}"
            ) from None
    if caller.restricted and "project" not in fields and len(caller.projects) == 1:
        fields["project"] = caller.projects[0]
    if "occurred_at" not in fields:
        fields["occurred_at"] = warden.clock.now()
    return UsageEvent.create(**fields)


def _ingest(warden: Warden, caller: Caller, items: list[Any]) -> tuple[int, dict[str, Any]]:
    events: list[UsageEvent] = []
    errors: list[dict[str, Any]] = []
    forbidden = 0
    for index, item in enumerate(items):
        try:
            event = _event(warden, caller, item)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or None
            errors.append(
                _error(index, item, where, str(first.get("msg", "invalid")).removeprefix("Value error, "))
            )
            continue
        except ValidationError as exc:
            errors.append(_error(index, item, exc.field, str(exc).partition(": ")[2] or str(exc)))
            continue
        except (CostwardenError, ValueError, TypeError) as exc:
            errors.append(_error(index, item, None, str(exc)))
            continue
        if not caller.sees(event.attribution.project):
            forbidden += 1
            shown = event.attribution.project
            errors.append(
                _error(
                    index,
                    item,
                    "project",
                    f"this key records into {', '.join(caller.projects)} only, not {shown!r}",
                    "project_forbidden",
                )
            )
            continue
        events.append(event)
    priced = warden.record_many(events) if events else []
    body = {
        "schema": INGEST_SCHEMA,
        "accepted": len(priced),
        "rejected": len(errors),
        "events": [
            {
                "id": e.id,
                "cost": money(e.cost.total) if e.cost is not None else None,
                "cost_source": e.cost.source.value if e.cost is not None else None,
                "provider": e.provider,
                "model": e.model,
            }
            for e in priced
        ],
        "errors": errors,
    }
    if items and forbidden == len(items):
        raise ApiError(403, "project_forbidden", errors[0]["message"], parameter="project", details=body)
    return 200, body


@router.post("/events", openapi_extra=_BODY)
async def post_events(
    request: Request, caller: Annotated[Caller, Depends(require(Role.WRITER))]
) -> JSONResponse:
    """Record one event (the object) or a batch (`{"events": [...]}`, at most 10,000). Answers how many were
    accepted, each stored event's id and cost, and the errors of the others (`costwarden.ingest/1`)."""
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if isinstance(body, dict) and "events" in body:
        items = body["events"]
        if not isinstance(items, list):
            raise ApiError(400, "invalid", "`events` must be a list", parameter="events")
        if len(items) > MAX_BATCH:
            raise ApiError(400, "invalid", f"at most {MAX_BATCH} events per batch", parameter="events")
    elif isinstance(body, dict):
        items = [body]
    else:
        raise ApiError(400, "invalid", 'expected an event object or {"events": [...]}')
    metrics = request.app.state.metrics
    try:
        status, answer = await run_in_threadpool(_ingest, warden_of(request), caller, items)
    except ApiError as exc:
        metrics.ingested.labels("rejected").inc(len(items))
        raise exc from None
    metrics.ingested.labels("accepted").inc(answer["accepted"])
    metrics.ingested.labels("rejected").inc(answer["rejected"])
    return JSONResponse(answer, status_code=status)
