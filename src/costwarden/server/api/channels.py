"""Alert channels and the outbox over the API (`admin`, unrestricted: channels carry every project's alerts):
list, create and remove channels (as `costwarden alert channels`, `alert set --webhook/--slack/--email`,
`alert remove`), and the deliveries (as `costwarden alert deliveries`). Secrets are never answered back,
except a webhook signing secret made here, once."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from costwarden.access import Role
from costwarden.errors import ConfigError
from costwarden.notify import new_secret
from costwarden.notify.channels import parse_channel
from costwarden.server.api.common import warden_of
from costwarden.server.auth import Caller, require
from costwarden.server.errors import ApiError
from costwarden.storage.outbox import DELIVERY_STATES, Outbox, SavedChannel
from costwarden.views.channels import channels_view
from costwarden.views.deliveries import DeliveriesQuery, deliveries_view
from costwarden.warden import Warden

__all__ = ["router"]

router = APIRouter(tags=["alerts"])

Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
ChannelName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]

_EXAMPLE = {
    "name": "ops",
    "type": "webhook",
    "url": "https://hooks.example.com/costwarden",
    "level": "warning",
}


def _outbox(warden: Warden) -> Outbox:
    outbox = warden.backend.outbox
    if outbox is None:
        raise ConfigError("alert channels need a database ledger (the outbox lives there)", key="database")
    return outbox


@router.get("/channels")
def list_channels(request: Request, caller: Admin) -> JSONResponse:
    """Every alert channel: type, origin (config file or set here / from the CLI), where it sends (secrets
    masked), filters, rate limit, state and outbox backlog (as `costwarden alert channels --json`)."""
    caller.unrestricted("alert channels")
    return JSONResponse(channels_view(warden_of(request)).to_json())


@router.post("/channels", status_code=201)
def create_channel(
    request: Request,
    caller: Admin,
    definition: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])],
) -> JSONResponse:
    """Save a channel (replacing one of the same name set here or from the CLI): the keys of a channel of
    the config file's `alerts.channels` (`type`: webhook, slack or email; `name` (default: the type),
    `url`, `secret` / `secret_env`, `to`, `smtp`, `level`, `budgets`, `kinds`, `plans`, `rate_limit`;
    docs/alerts.md). A webhook given neither secret gets a new one, answered once as `secret`. Answers the
    channel as `GET /channels` lists it."""
    caller.unrestricted("alert channels")
    kind = definition.get("type")
    if kind not in ("webhook", "slack", "email"):
        raise ApiError(
            400, "invalid", f"expected type webhook, slack or email, got {kind!r}", parameter="type"
        )
    name = definition.get("name") or kind
    if not isinstance(name, str):
        raise ApiError(400, "invalid", "expected a name (text)", parameter="name")
    stored = {k: v for k, v in definition.items() if k != "name"}
    made: str | None = None
    if kind == "webhook" and "secret" not in stored and "secret_env" not in stored:
        made = stored["secret"] = new_secret()
    try:
        parse_channel({**stored, "name": name})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        raise ApiError(400, "invalid", message, parameter=where) from None
    warden = warden_of(request)
    if kind == "email" and "smtp" not in stored and warden.settings.alerts.smtp is None:
        raise ApiError(
            400,
            "invalid",
            "an email channel needs an SMTP server: give `smtp` (host, from, ...) or set `alerts.smtp` in "
            "the config file",
            parameter="smtp",
        )
    _outbox(warden).save_channel(SavedChannel(name, stored))
    rows = [row.to_json() for row in channels_view(warden).channels if row.name == name]
    answer: dict[str, Any] = rows[0] if rows else {"name": name, "type": kind}
    if made is not None:
        answer["secret"] = made
    configured = {c.name or c.type for c in warden.settings.alerts.channels}
    answer["config_wins"] = name in configured
    return JSONResponse(answer, status_code=201)


@router.delete("/channels/{name}")
def remove_channel(request: Request, caller: Admin, name: ChannelName) -> JSONResponse:
    """Remove a channel set here or from the CLI; its deliveries not yet made are marked failed (counted
    in `abandoned`). A channel of the config file is 409 (remove it there)."""
    caller.unrestricted("alert channels")
    warden = warden_of(request)
    outbox = _outbox(warden)
    if not outbox.remove_channel(name):
        if name in {c.name or c.type for c in warden.settings.alerts.channels}:
            raise ApiError(
                409, "from_config", f"channel {name!r} comes from the config file; remove it there"
            )
        raise ApiError(
            404, "not_found", f"no channel {name!r} was set from the CLI or the API", parameter="name"
        )
    abandoned = outbox.abandon(name, "channel removed")
    return JSONResponse({"removed": name, "abandoned": abandoned})


@router.get("/deliveries")
def list_deliveries(
    request: Request,
    caller: Admin,
    channel: Annotated[str | None, Query(max_length=64, description="Only this channel.")] = None,
    status: Annotated[
        str | None, Query(description=f"Only this state: {', '.join(DELIVERY_STATES)}.")
    ] = None,
    alert: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Only this alert id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 50,
    attempts: Annotated[bool, Query(description="With every attempt of each.")] = False,
) -> JSONResponse:
    """The outbox, newest first: each alert bound for a channel, its state, tries, next try and last error;
    `attempts=true` with every attempt (as `costwarden alert deliveries --json`)."""
    caller.unrestricted("the outbox")
    query = DeliveriesQuery(limit=limit, channel=channel, status=status, alert_id=alert, attempts=attempts)
    return JSONResponse(deliveries_view(warden_of(request), query).to_json())
