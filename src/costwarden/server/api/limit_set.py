"""`PUT /api/v1/limits`: replace every budget set from the CLI or the API at once (`admin`), in either shape:
costwarden's (`{"budgets": [{"id": ..., "period": ..., "cost_usd": ...}, ...]}`, as in the config file) or the
`limits:` block of an orchestrator's config (`{"limits": {"global": ..., "per_project": {"default": ...},
"per_agent": {"default": ...}}, "projects": {"NAME": {"limits": ...}}}`), translated by the same dialect the
config loader reads it with (`costwarden.dialects.limits`). Everything is checked before anything is stored;
budgets from the config file stay (they win over a saved budget of the same id while they are there)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from costwarden.access import Role
from costwarden.budgets import SavedBudget
from costwarden.dialects import translate
from costwarden.errors import ConfigError
from costwarden.server.api.common import warden_of
from costwarden.server.api.limits import validated
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError
from costwarden.views.budget_list import budget_rows
from costwarden.views.budget_status import engine_of

__all__ = ["router", "LIMITS_SET_SCHEMA", "definitions"]

LIMITS_SET_SCHEMA = "costwarden.limits_set/1"
_SEED_KEYS = frozenset({"limits", "projects"})

router = APIRouter(tags=["limits"])

Admin = Annotated[Caller, Depends(require(Role.ADMIN))]

_SEED_EXAMPLE = {
    "limits": {
        "global": {"max_tokens_per_day": 1000000, "max_cost_per_day": 50.0, "max_concurrent_agents": 5},
        "per_project": {"default": {"max_cost_per_day": 20.0, "max_cost_per_month": 200.0}},
        "per_agent": {"default": {"max_tokens_per_run": 100000, "max_cost_per_run": 5.0}},
    },
    "projects": {"my-arpg": {"limits": {"max_cost_per_day": 30.0}}},
}
_NATIVE_EXAMPLE = {"budgets": [{"id": "monthly", "period": "month", "cost_usd": "500"}]}


def definitions(body: object) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, str]]]:
    """The budgets a body describes as (id, definition to store), each checked (a 400 naming the first bad
    key as the body spells it), and what was mapped where (the `limits:` shape only)."""
    if not isinstance(body, dict) or not body:
        raise ApiError(400, "invalid", 'expected {"budgets": [...]} or {"limits": {...}, "projects": {...}}')
    keys = set(body)
    mapped: list[dict[str, str]] = []
    if keys == {"budgets"}:
        items = body["budgets"]
        prefix = "budgets"
    elif keys <= _SEED_KEYS:
        try:
            translation = translate(body, "request body")
        except ConfigError as exc:
            message = str(exc).removeprefix(f"request body: {exc.key}: ")
            raise ApiError(400, "invalid", message, parameter=exc.key) from None
        items = translation.data.get("budgets") or []
        mapped = [{"source": m.source, "target": m.target, "note": m.note} for m in translation.mapped]
        prefix = "limits"
    else:
        unknown = sorted(keys - _SEED_KEYS - {"budgets"}) or sorted(keys & {"budgets"})
        raise ApiError(
            400,
            "invalid",
            "give either `budgets` (costwarden's shape) or `limits`/`projects` (the limits block), not "
            + ("both" if unknown == ["budgets"] else f"{unknown[0]!r}"),
            parameter=unknown[0],
        )
    if not isinstance(items, list):
        raise ApiError(400, "invalid", "expected a list of budgets", parameter="budgets")
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"budgets[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise ApiError(400, "invalid", "each budget needs an `id` (text)", parameter=f"{where}.id")
        budget_id: str = item["id"]
        if budget_id in seen:
            raise ApiError(400, "invalid", f"budget id {budget_id!r} is given twice", parameter=f"{where}.id")
        seen.add(budget_id)
        try:
            _, stored = validated(budget_id, item)
        except ApiError as exc:
            shown = where if prefix == "budgets" else f"{prefix} ({budget_id})"
            exc.parameter = f"{shown}.{exc.parameter}" if exc.parameter else shown
            raise
        out.append((budget_id, stored))
    return out, mapped


@router.put("/limits")
def put_limits(
    request: Request,
    caller: Admin,
    body: Annotated[dict[str, Any], Body(examples=[_SEED_EXAMPLE, _NATIVE_EXAMPLE])],
) -> JSONResponse:
    """Replace every budget set from the CLI or this API with the ones given (`{"budgets": [...]}`, or the
    `limits:` block with `projects:` overrides). Answers the budgets now saved (as `GET /limits` shows
    them), the ids removed, and for the `limits:` shape what each key became (`mapped`)."""
    caller.unrestricted("setting limits")
    wanted, mapped = definitions(body)
    warden = warden_of(request)
    engine = engine_of(warden)
    records = engine.records
    assert records is not None
    ids = {budget_id for budget_id, _ in wanted}
    removed = sorted(b.id for b in records.saved_budgets() if b.id not in ids)
    for budget_id, stored in wanted:
        records.save_budget(SavedBudget(budget_id, stored))
    for budget_id in removed:
        records.remove_budget(budget_id)
    engine.reread_policies()
    rows = [row for row in budget_rows(warden) if row["id"] in ids]
    answer = {"schema": LIMITS_SET_SCHEMA, "budgets": rows, "removed": removed, "mapped": mapped}
    return JSONResponse(_json(answer))


def _json(value: Any) -> Any:
    """Amounts (Decimal) as their exact text."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
