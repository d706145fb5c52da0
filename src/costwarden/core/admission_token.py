"""An admission as text: what lets a call admitted in one process (or request) be settled or released in
another. Pure: the signing key and the clock are the caller's (`Warden.admission_token`).

A token is `cw1.<claims>.<signature>`: the claims are compact JSON in URL-safe base64 (the call's id, the
route admitted, the request's attribution and sizes, the reservation ids with the amounts they hold on each
budget counter, when it was admitted and when it expires), the signature their HMAC-SHA256 under the
database's token key. It is URL-safe (letters, digits, `-`, `_` and dots), opaque to its holder, and cannot
be altered or made up without the key: a token is refused unless its signature matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from costwarden.core.admission import Amounts
from costwarden.core.calls import Admission, CallRequest, Decision
from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution
from costwarden.errors import AdmissionTokenError

__all__ = ["TokenClaims", "encode_token", "decode_token"]

_PREFIX = "cw1"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a token says: the admission, when it was admitted and when it expires (epoch seconds)."""

    admission: Admission
    admitted_at: float
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest())


def _attribution(attribution: Attribution) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ATTRIBUTION_FIELDS:
        value = getattr(attribution, name)
        if value is not None:
            out[name] = value
    if attribution.tags:
        out["tags"] = dict(attribution.tags)
    return out


def encode_token(claims: TokenClaims, key: bytes) -> str:
    """The signed text of `claims` under `key`."""
    admission = claims.admission
    request = admission.request
    body: dict[str, Any] = {
        "id": request.request_id,
        "route": [admission.provider, admission.model],
        "asked": [request.provider, request.model],
        "decision": admission.decision.value,
        "reserved": str(admission.reserved),
        "reservations": list(admission.reservation_ids),
        "holds": [[k, *a.as_tuple()] for k, a in admission.holds],
        "at": claims.admitted_at,
        "exp": claims.expires,
    }
    attribution = _attribution(request.attribution)
    if attribution:
        body["attribution"] = attribution
    if request.input_tokens:
        body["input_tokens"] = request.input_tokens
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.service_tier is not None:
        body["service_tier"] = request.service_tier
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed = f"{_PREFIX}.{payload}"
    return f"{signed}.{_signature(key, signed)}"


def decode_token(token: str, key: bytes) -> TokenClaims:
    """The claims of a token signed under `key`; `AdmissionTokenError` (reason `invalid`) for any text that is
    not one: malformed, altered, or signed under another database's key."""
    if not isinstance(token, str):
        raise AdmissionTokenError(f"expected an admission token (text), got {type(token).__name__}")
    prefix, _, rest = token.strip().partition(".")
    payload, _, signature = rest.partition(".")
    if prefix != _PREFIX or not payload or not signature:
        raise AdmissionTokenError("not an admission token (expected cw1.<claims>.<signature>)")
    if not hmac.compare_digest(signature, _signature(key, f"{prefix}.{payload}")):
        raise AdmissionTokenError(
            "the admission token's signature does not match: it was altered, or issued for another database"
        )
    try:
        body = json.loads(_unb64(payload))
        return _claims(body)
    except (ValueError, TypeError, KeyError, IndexError, InvalidOperation, binascii.Error) as exc:
        raise AdmissionTokenError(f"the admission token's claims cannot be read: {exc}") from exc


def _claims(body: Mapping[str, Any]) -> TokenClaims:
    raw_attribution = dict(body.get("attribution", {}))
    attribution = Attribution(**raw_attribution)
    asked_provider, asked_model = body["asked"]
    provider, model = body["route"]
    request = CallRequest(
        provider=str(asked_provider),
        model=str(asked_model),
        attribution=attribution,
        input_tokens=int(body.get("input_tokens", 0)),
        max_tokens=None if body.get("max_tokens") is None else int(body["max_tokens"]),
        service_tier=body.get("service_tier"),
        request_id=str(body["id"]),
    )
    holds = tuple((str(k), Amounts(*(int(n) for n in v))) for k, *v in body["holds"])
    admission = Admission(
        request=request,
        provider=str(provider),
        model=str(model),
        decision=Decision(body["decision"]),
        reserved=Decimal(body["reserved"]),
        reservation_ids=tuple(str(r) for r in body["reservations"]),
        holds=holds,
        expires=float(body["exp"]),
    )
    return TokenClaims(admission, float(body["at"]), float(body["exp"]))
